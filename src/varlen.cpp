// varlen_attention: sequences of different lengths packed end to end, each attending only itself. The packed rows
// become the canonical layout of one batch, each sequence a Segment with a ScoreRule of its own lengths, and the
// tiled path runs them: work follows Σ Tq_i·Tk_i, and no mask of the whole batch is ever built.
#include <attention/functional.h>

#include "paths/paths.h"
#include "validation.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace attention {
namespace {

/// The offsets of `cu_seqlens` (validated) on the host.
std::vector<int64_t> offsets_of(const torch::Tensor& cu_seqlens) {
  const auto offsets = cu_seqlens.to(torch::kCPU, torch::kLong).contiguous();
  return {offsets.data_ptr<int64_t>(), offsets.data_ptr<int64_t>() + offsets.numel()};
}

/// One Segment per sequence, positions bottom-right in each.
std::vector<detail::Segment> sequences(const std::vector<int64_t>& query_offsets,
                                       const std::vector<int64_t>& key_offsets, const detail::ScoreRule& shared) {
  std::vector<detail::Segment> segments;
  for (size_t i = 0; i + 1 < query_offsets.size(); ++i) {
    detail::Segment segment;
    segment.rule = shared;
    segment.rule.query_len = query_offsets[i + 1] - query_offsets[i];
    segment.rule.key_len = key_offsets[i + 1] - key_offsets[i];
    segment.rule.query_offset = segment.rule.key_len - segment.rule.query_len;
    segment.query_start = query_offsets[i];
    segment.key_start = key_offsets[i];
    segment.sequence = static_cast<int64_t>(i);
    segments.push_back(std::move(segment));
  }
  return segments;
}

}  // namespace

AttentionOutput varlen_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                 const torch::Tensor& cu_seqlens_q, const torch::Tensor& cu_seqlens_k,
                                 const AttentionOptions& options) {
  constexpr const char* where = "varlen_attention";
  detail::check_varlen_inputs(query, key, value, cu_seqlens_q, cu_seqlens_k, options, where);
  const auto total_queries = query.size(0), heads = query.size(1), width = query.size(2);
  const auto kv_heads = key.size(1), group = heads / kv_heads;

  detail::ScoreRule shared;
  shared.group = group;
  shared.causal = options.causal();
  shared.window = options.window();
  shared.score_mod = options.score_mod();
  shared.mask_mod = options.mask_mod();
  if (const auto& slopes = options.alibi_slopes(); slopes.defined()) {
    shared.alibi_slopes = slopes.to(query.device(), torch::kFloat).view({1, kv_heads, group, 1, 1});
  }
  // [T, H, d] → the canonical [1, Hkv, G, T, d] (keys and values [1, Hkv, T, w]), contiguous for the tiles' slices
  const auto canonical_query =
      query.view({total_queries, kv_heads, group, width}).permute({1, 2, 0, 3}).unsqueeze(0).contiguous();
  const auto canonical_key = key.permute({1, 0, 2}).unsqueeze(0).contiguous();
  const auto canonical_value = value.permute({1, 0, 2}).unsqueeze(0).contiguous();
  const auto block = options.block_size();
  const double scale = options.scale() > 0 ? options.scale() : 1.0 / std::sqrt(static_cast<double>(width));
  const auto result =
      detail::tiled_attention(canonical_query, canonical_key, canonical_value, scale,
                              sequences(offsets_of(cu_seqlens_q), offsets_of(cu_seqlens_k), shared),
                              block > 0 ? block : kDefaultQueryBlock, block > 0 ? block : kDefaultKeyBlock);
  AttentionOutput out;
  out.context = result.context.squeeze(0).permute({2, 0, 1, 3}).reshape({total_queries, heads, value.size(2)});
  out.lse = result.lse.squeeze(0).permute({2, 0, 1}).reshape({total_queries, heads});
  if (options.sinks().defined()) {
    detail::apply_sinks(out, options.sinks());  // lse [T, H]: one sink per head
  }
  if (!options.return_lse()) {
    out.lse = torch::Tensor();
  }
  return out;
}

}  // namespace attention
