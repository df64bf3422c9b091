#pragma once
// Internal: the pictures of attention/pictures.h as cv::Mat images, with the geometry the tests check.
// Not installed; the tests include it from the source tree.

#include <attention/pictures.h>

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

/// A rendered picture: the image (8-bit BGR) and, for each matrix or chart drawn, the rectangle of its cells
/// (or plot area) in image coordinates, in drawing order.
struct Figure {
  cv::Mat image;
  std::vector<cv::Rect> areas;
};

/// The colour of `value` on a scale from `low` to `high`: viridis, or the diverging blue-white-red map.
/// Non-finite values are grey.
enum class ColourMap { Viridis, Diverging };
ATTENTION_PICTURES_API cv::Vec3b colour_of(double value, double low, double high, ColourMap map);

ATTENTION_PICTURES_API Figure render_attention_heatmap(const at::Tensor& weights,
                                                       const std::vector<std::string>& query_labels,
                                                       const std::vector<std::string>& key_labels,
                                                       const HeatmapOptions& options);
ATTENTION_PICTURES_API Figure render_head_grid(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                                               const std::vector<std::string>& key_labels,
                                               const HeatmapOptions& options);
ATTENTION_PICTURES_API Figure render_weight_heatmaps(const std::vector<NamedMatrix>& matrices,
                                                     const WeightHeatmapOptions& options);
ATTENTION_PICTURES_API Figure render_training_curves(const std::vector<CurvePanel>& panels, const std::string& title);
ATTENTION_PICTURES_API Figure render_sentence_attention(const std::vector<std::string>& model_names,
                                                        const std::vector<SentenceAttention>& sentences,
                                                        const std::string& title);
ATTENTION_PICTURES_API Figure render_learning_strip(const at::Tensor& frames, const std::vector<std::string>& words,
                                                    const std::vector<std::string>& frame_names,
                                                    const AnimationOptions& options);
/// The video frames of write_learning_animation, all of one size (multiples of 16 px).
ATTENTION_PICTURES_API std::vector<cv::Mat> render_learning_frames(const at::Tensor& frames,
                                                                   const std::vector<std::string>& words,
                                                                   const std::vector<std::string>& frame_names,
                                                                   const AnimationOptions& options);
ATTENTION_PICTURES_API Figure render_embedding_map(const at::Tensor& embeddings, const std::vector<std::string>& labels,
                                                   const std::string& title);

/// Writes `image` as PNG to `path` through a temporary file and a rename; std::runtime_error naming the path.
ATTENTION_PICTURES_API void write_png(const std::string& path, const cv::Mat& image);
/// Writes `frames` as Motion-JPEG AVI (OpenCV's built-in encoder), holding the last frame `hold_seconds`.
ATTENTION_PICTURES_API void write_avi(const std::string& path, const std::vector<cv::Mat>& frames,
                                      double frames_per_second, double hold_seconds);

}  // namespace attention::pictures::detail
