// From validated inputs to a path: the plan, the choice of path (the Auto rule, measured per platform; README,
// "Which path runs"), and the call. The one way every public function and module reaches the softmax.
#include "paths.h"

#include "../validation.h"

#include <torch/torch.h>

namespace attention::detail {
namespace {

// Scores per head (Tq·Tk) from which Auto takes the tiled path when the fused kernel can't run the case, measured
// with the Path and PathTraining benchmarks (README, "Which path runs"):
/// causal: the tiled path skips the hidden half, and the materialised path pays for the mask;
constexpr int64_t kTiledFromCausalScores = int64_t{1} << 18;
/// not causal, forward only: the two are even from 2^18 to 2^20, and above it the tiled path needs O(T) memory;
constexpr int64_t kTiledFromScores = int64_t{1} << 20;
/// not causal, with gradients: below it the materialised backward (three matrix products) is faster than the
/// tiled one, which recomputes every tile.
constexpr int64_t kTiledFromScoresWithGradients = int64_t{1} << 22;

bool needs_gradients(const Plan& plan) {
  return torch::GradMode::is_enabled() &&
         (plan.query.requires_grad() || plan.key.requires_grad() || plan.value.requires_grad());
}

int64_t tiled_from_scores(const Plan& plan) {
  if (plan.rule.causal) {
    return kTiledFromCausalScores;
  }
  return needs_gradients(plan) ? kTiledFromScoresWithGradients : kTiledFromScores;
}

}  // namespace

AttentionPath choose_path(const Plan& plan, const AttentionOptions& options) {
  const bool dropout_active = options.training() && options.dropout() > 0;
  const auto requested = options.path();
  TORCH_CHECK(requested != AttentionPath::Tiled || (!options.need_weights() && !dropout_active),
              "the tiled attention path never forms the weights: it needs need_weights(false) and no dropout");
  TORCH_CHECK(requested != AttentionPath::Fused || !options.need_weights(),
              "the fused attention path never returns the weights: it needs need_weights(false)");
  if (requested == AttentionPath::Materialized || requested == AttentionPath::Tiled) {
    return requested;
  }
  if (fused_expresses(plan, options)) {
    return AttentionPath::Fused;
  }
  if (requested == AttentionPath::Fused) {
    return dropout_active ? AttentionPath::Materialized : AttentionPath::Tiled;
  }
  const bool long_sequence = plan.rule.query_len * plan.rule.key_len >= tiled_from_scores(plan);
  const bool banded = plan.rule.window.has_value();  // the tiled path skips what the window hides
  return !options.need_weights() && !dropout_active && (long_sequence || banded) ? AttentionPath::Tiled
                                                                                 : AttentionPath::Materialized;
}

AttentionOutput attend(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                       const AttentionOptions& options, const char* where) {
  check_attention_options(query, key, options, where);
  const auto plan = make_plan(query, key, value, options);
  switch (choose_path(plan, options)) {
    case AttentionPath::Fused:
      return {fused_attention(plan, options), torch::Tensor()};
    case AttentionPath::Tiled: {
      const auto block = options.block_size();
      return {tiled_attention(plan, block > 0 ? block : kDefaultQueryBlock, block > 0 ? block : kDefaultKeyBlock),
              torch::Tensor()};
    }
    default:
      return materialized_attention(plan, options);
  }
}

}  // namespace attention::detail
