#pragma once
// The program's pictures of a run (attention/pictures.h applied to the relation task): what `attention train`
// writes next to its checkpoint, and what `attention heatmap` draws of a trained model.

#include "relations/data.h"
#include "relations/model.h"
#include "relations/trainer.h"

#include <torch/types.h>

#include <functional>
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

/// train()'s callbacks that append the model's attention for the watched example to `learning` before training
/// and after every epoch (a frame named "epoch E"), then pass each epoch's report to `report` (when given).
TrainCallbacks capture_frames(LearningFrames& learning, std::function<void(const EpochReport&)> report = {});

/// Writes the pictures of a finished run into `dir` and returns their file names, in order: heatmaps.png
/// (held-out examples, trained against the baseline), then for a model that trained weights_W_q.png,
/// weights_W_k.png, weights_W_v.png (and weights_W_o.png for multihead), embeddings.png, then
/// training_curves.png and, with frames, learning.avi and learning.png. Throws std::runtime_error naming the
/// file that cannot be written.
std::vector<std::string> write_training_pictures(const std::string& dir, const TrainedRun& run, const Split& split,
                                                 const LearningFrames& learning);

/// `attention heatmap`: the attention of every word of `words` over the others (a head grid for multihead) of
/// a trained model, to `path` (PNG).
void write_sentence_heatmap(const std::string& path, RelationModel& model, const std::vector<std::string>& words);

/// `attention heatmap --weights`: the attention layer's W_q, W_k, W_v (W_o) side by side, to `path` (PNG).
/// Throws std::runtime_error for the simple model, which has none.
void write_weights_picture(const std::string& path, RelationModel& model);

}  // namespace attention::app
