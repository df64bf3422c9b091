#pragma once
// Internal: the pictures of attention/pictures.h rendered as images, with the geometry the tests check. Each
// renderer checks its arguments (std::invalid_argument, as the public functions promise). Built into the
// internal object library attention_pictures_render, which the pictures library and the tests link; not
// installed.

#include "colour.h"
#include "layout.h"

#include <attention/pictures.h>

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

Figure render_attention_heatmap(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                                const std::vector<std::string>& key_labels, const HeatmapOptions& options);
Figure render_head_grid(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                        const std::vector<std::string>& key_labels, const HeatmapOptions& options);
Figure render_model_view(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                         const std::vector<std::string>& key_labels, const HeatmapOptions& options);
Figure render_weight_heatmaps(const std::vector<NamedMatrix>& matrices, const WeightHeatmapOptions& options);
Figure render_training_curves(const std::vector<CurvePanel>& panels, const std::string& title);
Figure render_sentence_attention(const std::vector<std::string>& model_names,
                                 const std::vector<SentenceAttention>& sentences, const std::string& title);
Figure render_learning_strip(const at::Tensor& frames, const std::vector<std::string>& words,
                             const std::vector<std::string>& frame_names, const AnimationOptions& options);
/// The video frames of write_learning_animation, all of one size (multiples of 16 px).
std::vector<cv::Mat> render_learning_frames(const at::Tensor& frames, const std::vector<std::string>& words,
                                            const std::vector<std::string>& frame_names,
                                            const AnimationOptions& options);
Figure render_embedding_map(const at::Tensor& embeddings, const std::vector<std::string>& labels,
                            const std::string& title);

}  // namespace attention::pictures::detail
