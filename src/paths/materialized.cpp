// The materialised path: the whole [..., Tq, Tk] score matrix, its softmax, dropout, and the weighted values.
// The only path that can return the weights and apply dropout to them.
#include "paths.h"

#include <torch/torch.h>

namespace attention::detail {

AttentionOutput materialized_attention(const Plan& plan, const AttentionOptions& options) {
  const auto& query = plan.query;  // [B, Hkv, G, Tq, d]
  const auto B = query.size(0), kv_heads = query.size(1), group = query.size(2), query_len = query.size(3);
  const auto key_len = plan.key.size(2), value_width = plan.value.size(3);
  // Scaling the queries (Tq x d) is cheaper than scaling the scores (Tq x Tk). The G query heads of a key/value
  // head are rows of one product, so K is never repeated.
  const auto scaled =
      (plan.scale == 1.0 ? query : query * plan.scale).reshape({B, kv_heads, group * query_len, query.size(4)});
  auto scores = torch::matmul(scaled, plan.key.transpose(-2, -1)).view({B, kv_heads, group, query_len, key_len});
  scores = plan.rule.apply(scores, plan.whole(), 0, 0, /*in_place=*/true);  // [B, Hkv, G, Tq, Tk]
  torch::Tensor weights;                                                    // [B, Hkv, G, Tq, Tk]
  if (plan.rule.may_block() && key_len > 0) {
    // A row with every key blocked would be NaN (-inf - -inf): softmax it as zeros and return zeros, so its
    // weights and gradients are 0.
    const auto empty_rows = scores.amax(-1, /*keepdim=*/true).isneginf();  // [B, Hkv, G, Tq, 1]
    weights = torch::softmax(scores.masked_fill(empty_rows, 0), -1).masked_fill(empty_rows, 0);
  } else {
    weights = torch::softmax(scores, -1);
  }
  const bool dropping = options.training() && options.dropout() > 0;
  const auto kept = dropping ? torch::dropout(weights, options.dropout(), /*train=*/true) : weights;
  const auto context = torch::matmul(kept.view({B, kv_heads, group * query_len, key_len}), plan.value)
                           .view({B, kv_heads, group, query_len, value_width});
  return {plan.to_caller(context), options.need_weights() ? plan.to_caller(weights) : torch::Tensor()};
}

}  // namespace attention::detail
