#pragma once
// What a run of the induction task measures, and its metrics.json: the held-out loss on the repeated half and
// on the rest, each head's induction and previous-token scores, the phase change, of the trained model and of
// the one-layer baseline.
//
// Definitions (B sequences of T tokens; in each the segment of length L starts at r - L and again at r):
// - repeated-half loss: the mean next-token cross-entropy, in nats, of the predictions of tokens r + 1 .. r + L - 1
//   (made at positions r .. r + L - 2); the first token of the repeat is left out, nothing announces it. The
//   other loss: the mean over every other prediction.
// - induction score of a head: its mean attention from each token of the second copy, t in [r, r + L - 1], to
//   the token after that token's first occurrence, t - L + 1: where a head that copies sequences looks.
// - previous-token score of a head: its mean attention from each token t >= 1 to token t - 1.
// - phase change: the first evaluation at which the repeated-half loss is below half of its value before
//   training.

#include "induction/config.h"
#include "induction/data.h"
#include "induction/model.h"

#include <nlohmann/json.hpp>

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace attention::app {

/// Per head, the induction score of attention weights `[B, H, T, T]` on `sequences`: `[H]` float64.
torch::Tensor induction_scores(const torch::Tensor& weights, const Sequences& sequences);
/// Per head, the previous-token score of attention weights `[B, H, T, T]`: `[H]` float64.
torch::Tensor previous_token_scores(const torch::Tensor& weights);

/// The held-out losses of next-token logits `[B, T, V]` on `sequences`, in nats.
struct SplitLoss {
  double repeated_half = 0;
  double other = 0;
};
SplitLoss split_losses(const torch::Tensor& logits, const Sequences& sequences);

/// One head's scores ("per_head" in metrics.json). Layers and heads count from 1.
struct HeadScores {
  int64_t layer = 0;
  int64_t head = 0;
  double induction = 0;
  double previous_token = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(HeadScores, layer, head, induction, previous_token)

/// A model's scores on the held-out sequences.
struct InductionEvaluation {
  double repeated_half_loss = 0;
  double other_loss = 0;
  double induction_score = 0;       ///< of the best head of the last layer
  double previous_token_score = 0;  ///< of the best head of the first layer
  std::vector<HeadScores> per_head;
};
/// The evaluation of `model` on `held_out`. No gradients; the model should be in eval() mode.
InductionEvaluation evaluate(InductionModel& model, const Sequences& held_out);

/// One evaluation during training ("history" in metrics.json and in the checkpoint); epoch 0 is before training.
struct EvaluationRecord {
  int64_t epoch = 0;
  int64_t step = 0;  ///< steps trained
  double repeated_half_loss = 0;
  double other_loss = 0;
  double induction_score = 0;
  double previous_token_score = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvaluationRecord, epoch, step, repeated_half_loss, other_loss, induction_score,
                                   previous_token_score)
/// The record of `evaluation` after `epoch` epochs of `steps_per_epoch` steps.
EvaluationRecord record_of(const InductionEvaluation& evaluation, int64_t epoch, int64_t steps_per_epoch);

/// A step that may never come: JSON null when it does not.
struct MaybeStep {
  std::optional<int64_t> step;
};
void to_json(nlohmann::json& json, const MaybeStep& step);
void from_json(const nlohmann::json& json, MaybeStep& step);
/// The step of the phase change in `history` (which starts with epoch 0), if there is one.
MaybeStep phase_change(const std::vector<EvaluationRecord>& history);

/// One model's metrics: its final evaluation and how its training went ("baseline" in metrics.json, and the
/// top level for the trained model). Users' scripts read these keys: keep them.
struct ModelMetrics : InductionEvaluation {
  int64_t layers = 0;
  MaybeStep phase_change_step;
  int64_t steps = 0;   ///< steps trained
  double seconds = 0;  ///< of training its steps (wall clock, evaluations not counted)
  std::vector<EvaluationRecord> history;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ModelMetrics, repeated_half_loss, other_loss, induction_score, previous_token_score,
                                   per_head, layers, phase_change_step, steps, seconds, history)

/// metrics.json of the induction task: the trained model's metrics, the baseline's, and the run's options.
struct InductionMetrics : ModelMetrics {
  ModelMetrics baseline;
  InductionConfig model;  ///< the run's options
  int threads = 0;        ///< LibTorch's CPU threads
  int64_t processes = 1;  ///< the data-parallel ranks that trained it (torchrun's WORLD_SIZE)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InductionMetrics, repeated_half_loss, other_loss, induction_score,
                                   previous_token_score, per_head, layers, phase_change_step, steps, seconds, history,
                                   baseline, model, threads, processes)

}  // namespace attention::app
