// The fused path: LibTorch's own at::scaled_dot_product_attention (LibTorch >= 2.1), which picks the flash,
// memory-efficient or cuDNN kernel on CUDA and the flash kernel on the CPU, given this library's semantics:
//   * bool masks mean true = may attend, as the kernel's do; floating masks are added, as the kernel's are;
//   * a row with every key blocked is given a harmless mask for the kernel and then zeroed, so its context is 0
//     and no gradient flows through it (the kernels disagree on such rows: NaN on some, 0 on others);
//   * top-left causal is the kernel's is_causal; bottom-right causal (Tq != Tk) and causal together with a mask
//     become a bool mask, which is built only while it stays small (kMaxBuiltMaskElements);
//   * grouped-query attention: CUDA kernels take fewer key/value heads natively (enable_gqa, LibTorch >= 2.5);
//     elsewhere the G query heads of a key/value head become rows of one query [B, Hkv, G·Tq, d], which is exact
//     when neither causal masking nor the mask depends on the query row. K and V are never repeated.
// What it cannot express (ALiBi, windows, score_mod, mask_mod, the weights, the log-sum-exp) runs on another path: see
// fused_expresses().
#include "paths.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <limits>
#include <optional>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define ATTENTION_HAS_FUSED_KERNEL 1
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
#define ATTENTION_HAS_NATIVE_GQA 1
#endif

namespace attention::detail {
#ifdef ATTENTION_HAS_FUSED_KERNEL
namespace {

/// The largest bool mask (elements) the fused path builds for causal masking the kernel can't express by itself;
/// beyond it the tiled path, which needs no mask, is cheaper than building one.
constexpr int64_t kMaxBuiltMaskElements = int64_t{1} << 24;

/// Whether the kernel takes fewer key/value heads than query heads itself.
bool kernel_groups_heads(const Plan& plan) {
#ifdef ATTENTION_HAS_NATIVE_GQA
  return plan.query.is_cuda();
#else
  (void)plan;
  return false;
#endif
}

/// Whether causal masking must become a mask: the kernel's is_causal is top-left and takes no mask beside it.
bool builds_causal_mask(const ScoreRule& rule) {
  return rule.causal && (rule.query_offset != 0 || rule.allowed.defined());
}

}  // namespace
#endif

bool fused_expresses(const Plan& plan, const AttentionOptions& options) {
#ifndef ATTENTION_HAS_FUSED_KERNEL
  (void)plan;
  (void)options;
  return false;
#else
  const auto& rule = plan.rule;
  // The kernel returns no log-sum-exp that this library could hand on (nor the sinks that need it).
  const bool needs_lse = options.return_lse() || options.sinks().defined();
  if (options.need_weights() || rule.window || rule.alibi_slopes.defined() || rule.score_mod || rule.mask_mod ||
      needs_lse || rule.query_len == 0 || rule.key_len == 0) {
    return false;
  }
  if (builds_causal_mask(rule)) {
    const auto& mask = rule.allowed;
    const int64_t mask_planes = mask.defined() ? mask.size(0) * mask.size(1) * mask.size(2) : 1;
    if (mask_planes * rule.query_len * rule.key_len > kMaxBuiltMaskElements) {
      return false;
    }
  }
  if (rule.group > 1 && !kernel_groups_heads(plan)) {  // heads folded into query rows
    const bool per_row_mask = rule.allowed.defined() && (rule.allowed.size(2) != 1 || rule.allowed.size(3) != 1);
    if (rule.causal || per_row_mask) {
      return false;
    }
  }
  return true;
#endif
}

torch::Tensor fused_attention(const Plan& plan, const AttentionOptions& options) {
#ifndef ATTENTION_HAS_FUSED_KERNEL
  (void)options;
  TORCH_CHECK(false, "the fused attention path needs LibTorch >= 2.1, this is ", TORCH_VERSION);
  return plan.query;
#else
  const auto& rule = plan.rule;
  const auto& query = plan.query;  // [B, Hkv, G, Tq, d]
  const auto B = query.size(0), kv_heads = query.size(1), group = query.size(2), query_len = query.size(3);
  torch::Tensor allowed = rule.allowed;  // canonical mask layout, true = may attend
  if (builds_causal_mask(rule)) {
    const auto causal = torch::ones({query_len, rule.key_len}, query.options().dtype(torch::kBool))
                            .tril(rule.query_offset)
                            .view({1, 1, 1, query_len, rule.key_len});
    allowed = allowed.defined() ? allowed.logical_and(causal) : causal;
  }
  torch::Tensor mask, visible_rows;
  if (allowed.defined()) {
    visible_rows = allowed.any(-1, /*keepdim=*/true);                            // [.., Tq|1, 1]
    const auto kernel_allowed = allowed.logical_or(visible_rows.logical_not());  // empty rows see all, zeroed below
    mask = rule.additive.defined()
               ? rule.additive.masked_fill(kernel_allowed.logical_not(), -std::numeric_limits<double>::infinity())
               : kernel_allowed;
  }
  const bool fold_heads = group > 1 && !kernel_groups_heads(plan);
  const auto mask_4d = [&]() -> std::optional<torch::Tensor> {  // the kernel's [B|1, H|1, Tq|1, Tk|1]
    if (!mask.defined()) {
      return std::nullopt;
    }
    return fold_heads ? mask.squeeze(2)
                      : mask.reshape({mask.size(0), mask.size(1) * mask.size(2), mask.size(3), mask.size(4)});
  };
  const auto kernel_query = fold_heads ? query.reshape({B, kv_heads, group * query_len, query.size(4)})
                                       : query.reshape({B, kv_heads * group, query_len, query.size(4)});
  const double dropout = options.training() ? options.dropout() : 0.0;
  const bool is_causal = rule.causal && !builds_causal_mask(rule);
#ifdef ATTENTION_HAS_NATIVE_GQA
  auto context = at::scaled_dot_product_attention(kernel_query, plan.key, plan.value, mask_4d(), dropout, is_causal,
                                                  plan.scale, /*enable_gqa=*/group > 1 && !fold_heads);
#else
  auto context =
      at::scaled_dot_product_attention(kernel_query, plan.key, plan.value, mask_4d(), dropout, is_causal, plan.scale);
#endif
  context = context.reshape({B, kv_heads, group, query_len, plan.value.size(-1)});
  if (visible_rows.defined()) {
    context = context.masked_fill(visible_rows.logical_not(), 0);
  }
  return plan.to_caller(context);
#endif
}

}  // namespace attention::detail
