// From validated inputs to a path: the plan, the choice of path (the Auto rule, measured per platform; README,
// "Which path runs"), and the call. The one way every public function and module reaches the softmax.
#include "blas_threads.h"
#include "paths.h"

#include "../validation.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace attention::detail {
namespace {

// When Auto takes the tiled path rather than the materialised one (where the fused kernel can't run the case),
// measured with the Path and PathTraining benchmarks at 1 and 2 threads (README, "Which path runs"). Scores per
// head are Tq·Tk; below kTiledFromScoresPerHead tiles are too few to pay for their overhead.
constexpr int64_t kTiledFromScoresPerHead = int64_t{1} << 18;
/// Not causal, with gradients: below it the materialised backward (three matrix products) beats the tiled one,
/// which recomputes every tile.
constexpr int64_t kTiledFromScoresPerHeadWithGradients = int64_t{1} << 22;
/// Not causal, forward only: the materialised path is as fast or faster while the score tensor of the whole
/// call (B·H·Tq·Tk) stays within 2^24 elements (64 MiB in float32).
constexpr int64_t kMaterializedUpToScores = int64_t{1} << 24;

bool needs_gradients(const Plan& plan) {
  return torch::GradMode::is_enabled() &&
         (plan.query.requires_grad() || plan.key.requires_grad() || plan.value.requires_grad());
}

/// On the CPU, with more than one LibTorch thread over a BLAS library running threads of its own: LibTorch's
/// parallel regions (its fused kernel's, the materialised path's operations) then contend with the BLAS threads
/// for the cores, and every path runs faster on the calling thread (README, "Which path runs").
bool blas_threads_contend(const Plan& plan) {
  return plan.query.is_cpu() && at::get_num_threads() > 1 && blas_runs_its_own_threads();
}

bool tiled_is_faster(const Plan& plan) {
  const auto per_head = plan.rule.query_len * plan.rule.key_len;
  if (per_head < kTiledFromScoresPerHead) {
    return false;
  }
  if (plan.rule.causal) {
    return true;  // the tiled path skips the hidden half; the materialised path pays for the mask
  }
  if (needs_gradients(plan)) {
    return per_head >= kTiledFromScoresPerHeadWithGradients;
  }
  const auto heads = plan.query.size(0) * plan.query.size(1) * plan.query.size(2);  // B·Hkv·G
  return per_head * heads > kMaterializedUpToScores;
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
  const bool banded = plan.rule.window.has_value();  // the tiled path skips what the window hides
  return !options.need_weights() && !dropout_active && (banded || tiled_is_faster(plan)) ? AttentionPath::Tiled
                                                                                         : AttentionPath::Materialized;
}

AttentionOutput attend(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                       const AttentionOptions& options, const char* where) {
  check_attention_options(query, key, options, where);
  const auto plan = make_plan(query, key, value, options);
  const auto run = [&]() -> AttentionOutput {
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
  };
  if (!blas_threads_contend(plan)) {
    return run();
  }
  AttentionOutput out;
  on_calling_thread([&] { out = run(); });
  return out;
}

}  // namespace attention::detail
