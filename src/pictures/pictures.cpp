// The public write_* functions of attention/pictures.h: render (render.h), then write (image_files.h).
#include "image_files.h"
#include "render.h"

#include <attention/pictures.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

namespace attention::pictures {
namespace {

std::string lower_extension(const std::string& path) {
  auto extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

}  // namespace

GridShape head_grid_shape(int64_t heads) {
  if (heads <= 0) {
    throw std::invalid_argument("a head grid needs at least one head, got " + std::to_string(heads));
  }
  const int64_t tiles = heads + 1;
  GridShape shape;
  // The smallest square number of columns: sqrt rounded up, exactly (no floating-point sqrt).
  while (shape.columns * shape.columns < tiles) {
    ++shape.columns;
  }
  shape.rows = (tiles + shape.columns - 1) / shape.columns;
  return shape;
}

void write_attention_heatmap(const std::string& path, const at::Tensor& weights,
                             const std::vector<std::string>& query_labels, const std::vector<std::string>& key_labels,
                             const HeatmapOptions& options) {
  detail::write_png(path, detail::render_attention_heatmap(weights, query_labels, key_labels, options).image);
}

void write_head_grid(const std::string& path, const at::Tensor& weights, const std::vector<std::string>& query_labels,
                     const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  detail::write_png(path, detail::render_head_grid(weights, query_labels, key_labels, options).image);
}

void write_model_view(const std::string& path, const at::Tensor& weights, const std::vector<std::string>& query_labels,
                      const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  detail::write_png(path, detail::render_model_view(weights, query_labels, key_labels, options).image);
}

void write_weight_heatmaps(const std::string& path, const std::vector<NamedMatrix>& matrices,
                           const WeightHeatmapOptions& options) {
  detail::write_png(path, detail::render_weight_heatmaps(matrices, options).image);
}

void write_weight_heatmap(const std::string& path, const at::Tensor& matrix, const WeightHeatmapOptions& options,
                          const std::vector<std::string>& row_labels, const std::vector<std::string>& column_labels) {
  write_weight_heatmaps(path, {NamedMatrix{"", matrix, row_labels, column_labels}}, options);
}

void write_training_curves(const std::string& path, const std::vector<CurvePanel>& panels, const std::string& title) {
  detail::write_png(path, detail::render_training_curves(panels, title).image);
}

void write_sentence_attention(const std::string& path, const std::vector<std::string>& model_names,
                              const std::vector<SentenceAttention>& sentences, const std::string& title) {
  detail::write_png(path, detail::render_sentence_attention(model_names, sentences, title).image);
}

void write_learning_animation(const std::string& path, const at::Tensor& frames, const std::vector<std::string>& words,
                              const std::vector<std::string>& frame_names, const AnimationOptions& options) {
  const auto extension = lower_extension(path);
  if (extension == ".avi") {
    const auto images = detail::render_learning_frames(frames, words, frame_names, options);
    detail::write_avi(path, images, options.frames_per_second, 2.0);
  } else if (extension == ".png") {
    detail::write_png(path, detail::render_learning_strip(frames, words, frame_names, options).image);
  } else {
    throw std::invalid_argument("write_learning_animation writes .avi (an animation) or .png (a frame strip), not " +
                                path);
  }
}

void write_embedding_map(const std::string& path, const at::Tensor& embeddings, const std::vector<std::string>& labels,
                         const std::string& title) {
  detail::write_png(path, detail::render_embedding_map(embeddings, labels, title).image);
}

}  // namespace attention::pictures
