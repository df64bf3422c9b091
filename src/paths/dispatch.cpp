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
  // The tiled path skips what a window or a block mask hides.
  const bool skips = plan.rule.window.has_value() || plan.block_mask.defined();
  return !options.need_weights() && !dropout_active && (skips || tiled_is_faster(plan)) ? AttentionPath::Tiled
                                                                                        : AttentionPath::Materialized;
}

AttentionOutput attend(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                       const AttentionOptions& options, const char* where) {
  check_attention_options(query, key, options, where);
  const auto plan = make_plan(query, key, value, options);
  const auto& sinks = options.sinks();
  const bool with_lse = options.return_lse() || sinks.defined();
  const auto run = [&]() -> AttentionOutput {
    switch (choose_path(plan, options)) {
      case AttentionPath::Fused:
        return {fused_attention(plan, options), torch::Tensor(), torch::Tensor()};
      case AttentionPath::Tiled: {
        const auto block = options.block_size();
        const Segment every_batch{plan.rule, 0, plan.query.size(0)};
        const auto result = tiled_attention(plan.query, plan.key, plan.value, plan.scale, {every_batch},
                                            block > 0 ? block : kDefaultQueryBlock,
                                            block > 0 ? block : kDefaultKeyBlock, plan.block_mask);
        return {plan.to_caller(result.context), torch::Tensor(),
                with_lse ? plan.to_caller(result.lse.unsqueeze(-1)).squeeze(-1) : torch::Tensor()};
      }
      default:
        return materialized_attention(plan, options, with_lse);
    }
  };
  AttentionOutput out;
  if (blas_threads_contend(plan)) {
    on_calling_thread([&] { out = run(); });
  } else {
    out = run();
  }
  if (sinks.defined()) {
    apply_sinks(out, sinks.view({-1, 1}));  // lse [..., H, Tq]: one sink per head, for each of its rows
  }
  if (!options.return_lse()) {
    out.lse = torch::Tensor();
  }
  return out;
}

}  // namespace attention::detail
