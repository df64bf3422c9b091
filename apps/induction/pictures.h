#pragma once
// The pictures of an induction run (attention/pictures.h applied to the induction task): what `attention train
// --task induction` writes next to its checkpoint, and the model view `attention heatmap` draws of a checkpoint.

#include "induction/data.h"
#include "induction/model.h"
#include "induction/trainer.h"

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace attention::app {

/// The attention of one query of a held-out sequence, captured during the trained model's training (the
/// animation of the induction stripe forming).
struct InductionFrames {
  std::vector<int64_t> tokens;        ///< the watched sequence
  int64_t repeat = 0;                 ///< where its second copy starts
  int64_t segment = 0;                ///< the length of its segment
  int64_t query = 0;                  ///< a token in the middle of its second copy
  int64_t target = 0;                 ///< the token after the query's first occurrence
  std::vector<torch::Tensor> frames;  ///< each the query's attention in every head of the last layer `[H, T]`
  std::vector<std::string> names;     ///< "step 0" (before training), "step 50", ...
};

/// The first held-out sequence whose segment is closest to a third of its length (the copies and the random
/// tokens around them all in view), and the token in the middle of its second copy.
InductionFrames watch_sequence(const Sequences& held_out);

/// train_induction()'s callbacks that append the trained model's attention for the watched query to `frames`
/// at each of its evaluations, then pass every report (of both models) to `report` (when given).
InductionCallbacks capture_induction_frames(InductionFrames& frames,
                                            std::function<void(const InductionReport&)> report = {});

/// Writes the pictures of a finished run into `dir` and returns their file names, in order: model_view.png and
/// model_view_baseline.png (every head of every layer on the watched sequence), training_curves.png (the
/// held-out losses and the best scores per epoch, both models), head_scores.png (each head's induction and
/// previous-token scores) and, with frames, learning.avi and learning.png (the watched query's attention in
/// the best induction head, epoch by epoch). Throws std::runtime_error naming the file that cannot be written.
std::vector<std::string> write_induction_pictures(const std::string& dir, const InductionRun& run,
                                                  const InductionFrames& frames);

/// The model view of `model` on `tokens` (ids below its vocabulary), to `path` (PNG), under `title` (which says
/// what a '*' means when `marked` is given): each query's cell at the token after the previous occurrence of its
/// own token is outlined, and the labels of the `marked` positions carry a '*'. `attention heatmap --tokens`
/// draws it.
void write_model_view_of(const std::string& path, InductionModel& model, const std::vector<int64_t>& tokens,
                         const std::string& title, const std::vector<int64_t>& marked = {});

}  // namespace attention::app
