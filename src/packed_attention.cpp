// Packed sequences on the tiled path: the rows become the canonical layout of one batch, each sequence a Segment,
// so work follows Σ Tq_i·Tk_i and no mask of the whole batch is ever built.
#include "packed_attention.h"

#include "paths/paths.h"

#include <torch/torch.h>

#include <cmath>
#include <utility>

namespace attention::detail {

ScoreRule packed_rule(const AttentionOptions& options, int64_t heads, int64_t kv_heads, const torch::Device& device) {
  ScoreRule rule;
  rule.group = heads / kv_heads;
  rule.causal = options.causal();
  rule.window = options.window();
  rule.score_mod = options.score_mod();
  rule.mask_mod = options.mask_mod();
  if (const auto& slopes = options.alibi_slopes(); slopes.defined()) {
    rule.alibi_slopes = slopes.to(device, torch::kFloat).view({1, kv_heads, rule.group, 1, 1});
  }
  return rule;
}

AttentionOutput packed_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                 std::vector<Segment> segments, int64_t key_block, const AttentionOptions& options) {
  const auto total_queries = query.size(0), heads = query.size(1), width = query.size(2);
  const auto kv_heads = key.size(1);
  // [T, H, d] → the canonical [1, Hkv, G, T, d], contiguous for the tiles' slices
  const auto canonical_query =
      query.view({total_queries, kv_heads, heads / kv_heads, width}).permute({1, 2, 0, 3}).unsqueeze(0).contiguous();
  const auto block = options.block_size();
  const double scale = options.scale() > 0 ? options.scale() : 1.0 / std::sqrt(static_cast<double>(width));
  const auto result =
      tiled_attention(canonical_query, key, value, scale, std::move(segments), block > 0 ? block : kDefaultQueryBlock,
                      key_block > 0 ? key_block
                      : block > 0   ? block
                                    : kDefaultKeyBlock);
  AttentionOutput out;
  out.context = result.context.squeeze(0).permute({2, 0, 1, 3}).reshape({total_queries, heads, value.size(-1)});
  out.lse = result.lse.squeeze(0).permute({2, 0, 1}).reshape({total_queries, heads});
  if (options.sinks().defined()) {
    apply_sinks(out, options.sinks());  // lse [T, H]: one sink per head
  }
  if (!options.return_lse()) {
    out.lse = torch::Tensor();
  }
  return out;
}

}  // namespace attention::detail
