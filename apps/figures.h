#pragma once
// The pictures of the command line (attention/pictures.h applied to the relation task): what `attention train`
// writes next to its checkpoint, and `attention heatmap`.

#include "relation_data.h"
#include "trainer.h"

#include <nlohmann/json.hpp>

#include <torch/types.h>

#include <string>
#include <vector>

namespace attention::app {

/// The attention of one fixed example, captured during training (the learning animation).
struct LearningFrames {
  Example example;
  bool active = false;                ///< false when there is no example to watch
  std::vector<torch::Tensor> frames;  ///< each the query's attention over the example's words `[T]`
  std::vector<std::string> names;     ///< "epoch 0" (before training), "epoch 1", ...
};

/// The held-out example to watch: the first whose query is "warm", else the first of the "property" relation,
/// else the first held-out one (the first training one without held-out examples).
LearningFrames watch_example(const Split& split);

/// Appends the model's attention for the watched example, named "epoch `epoch`". No gradients.
void capture_frame(LearningFrames& learning, RelationModel& model, const Vocabulary& vocabulary, int64_t epoch);

/// The files write_training_pictures writes for a model of `config` that trained (`trained` false: the simple
/// model, which has no weights and no epochs).
std::vector<std::string> training_picture_files(const TrainConfig& config, bool trained);

/// Writes the pictures of a finished run into `dir`: heatmaps.png (held-out examples, trained against the
/// baseline), weights_W_q.png, weights_W_k.png, weights_W_v.png (weights_W_o.png for multihead),
/// embeddings.png, training_curves.png, learning.avi and learning.png. Throws std::runtime_error naming the
/// file that cannot be written.
void write_training_pictures(const std::string& dir, RelationModel& model, RelationModel& baseline,
                             const Vocabulary& vocabulary, const Split& split, const nlohmann::json& history,
                             const LearningFrames& learning);

/// `attention heatmap`: the attention of every word of `words` over the others (a head grid for multihead) of
/// a trained model, to `path` (PNG).
void write_sentence_heatmap(const std::string& path, LoadedModel& loaded, const std::vector<std::string>& words);

/// `attention heatmap --weights`: the attention layer's W_q, W_k, W_v (W_o) side by side, to `path` (PNG).
/// Throws std::runtime_error for the simple model, which has none.
void write_weights_picture(const std::string& path, LoadedModel& loaded);

}  // namespace attention::app
