// The materialised path: the whole [..., Tq, Tk] score matrix, its softmax, dropout, and the weighted values.
// The only path that can return the weights and apply dropout to them.
#include "paths.h"

#include <torch/torch.h>

#include <limits>

namespace attention::detail {

namespace {

/// The largest keys (values), all batches and heads, whose products the materialised path computes elementwise:
/// their temporary is as large. (So a row's products may differ in rounding alone and in a larger batch here; the
/// tiled path's never do.)
constexpr int64_t kElementwiseElements = int64_t{1} << 22;

}  // namespace

bool one_row_elementwise(const torch::Tensor& rows) {
  return rows.size(-2) == 1 && rows.is_cpu() &&
         (rows.scalar_type() == torch::kFloat || rows.scalar_type() == torch::kDouble);
}

torch::Tensor query_key_products(const torch::Tensor& queries, const torch::Tensor& keys, bool elementwise) {
  return elementwise ? (keys * queries).sum(-1).unsqueeze(-2) : torch::matmul(queries, keys.transpose(-2, -1));
}

torch::Tensor weighted_values(const torch::Tensor& weights, const torch::Tensor& values, bool elementwise) {
  return elementwise ? (values * weights.transpose(-2, -1)).sum(-2, /*keepdim=*/true) : torch::matmul(weights, values);
}

AttentionOutput materialized_attention(const Plan& plan, const AttentionOptions& options, bool with_lse) {
  const auto& query = plan.query;  // [B, Hkv, G, Tq, d]
  const auto B = query.size(0), kv_heads = query.size(1), group = query.size(2), query_len = query.size(3);
  const auto key_len = plan.key.size(2), value_width = plan.value.size(3);
  // Scaling the queries (Tq x d) is cheaper than scaling the scores (Tq x Tk). The G query heads of a key/value
  // head are rows of one product, so K is never repeated.
  const auto scaled =
      (plan.scale == 1.0 ? query : query * plan.scale).reshape({B, kv_heads, group * query_len, query.size(4)});
  const bool elementwise = one_row_elementwise(scaled) && plan.key.numel() <= kElementwiseElements &&
                           plan.value.numel() <= kElementwiseElements;
  auto scores = query_key_products(scaled, plan.key, elementwise).view({B, kv_heads, group, query_len, key_len});
  scores = plan.rule.apply(scores, plan.whole(), 0, 0, /*in_place=*/true);  // [B, Hkv, G, Tq, Tk]
  torch::Tensor weights;                                                    // [B, Hkv, G, Tq, Tk]
  torch::Tensor lse;                                                        // [B, Hkv, G, Tq, 1]
  const auto lse_of = [&](const torch::Tensor& finite_scores) {
    return finite_scores.to(accumulator_type(finite_scores.scalar_type())).logsumexp(-1, /*keepdim=*/true);
  };
  if (key_len == 0) {
    weights = torch::softmax(scores, -1);
    lse = with_lse ? scores.new_full({B, kv_heads, group, query_len, 1}, -std::numeric_limits<double>::infinity(),
                                     scores.options().dtype(accumulator_type(scores.scalar_type())))
                   : torch::Tensor();
  } else if (plan.rule.may_block()) {
    // A row with every key blocked would be NaN (-inf - -inf): softmax it as zeros and return zeros, so its
    // weights and gradients are 0.
    const auto empty_rows = scores.amax(-1, /*keepdim=*/true).isneginf();  // [B, Hkv, G, Tq, 1]
    const auto finite_scores = scores.masked_fill(empty_rows, 0);
    weights = torch::softmax(finite_scores, -1).masked_fill(empty_rows, 0);
    if (with_lse) {
      lse = lse_of(finite_scores).masked_fill(empty_rows, -std::numeric_limits<double>::infinity());
    }
  } else {
    weights = torch::softmax(scores, -1);
    if (with_lse) {
      lse = lse_of(scores);
    }
  }
  const bool dropping = options.training() && options.dropout() > 0;
  const auto kept = dropping ? torch::dropout(weights, options.dropout(), /*train=*/true) : weights;
  const auto context = weighted_values(kept.view({B, kv_heads, group * query_len, key_len}), plan.value, elementwise)
                           .view({B, kv_heads, group, query_len, value_width});
  return {plan.to_caller(context), options.need_weights() ? plan.to_caller(weights) : torch::Tensor(),
          with_lse ? plan.to_caller(lse).squeeze(-1) : torch::Tensor()};
}

}  // namespace attention::detail
