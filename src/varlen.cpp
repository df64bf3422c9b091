// varlen_attention: sequences of different lengths packed end to end, each attending only itself, its positions
// bottom-right.
#include <attention/functional.h>

#include "packed_attention.h"
#include "validation.h"

#include <torch/torch.h>

#include <vector>

namespace attention {
namespace {

/// The offsets of `cu_seqlens` (validated) on the host.
std::vector<int64_t> offsets_of(const torch::Tensor& cu_seqlens) {
  const auto offsets = cu_seqlens.to(torch::kCPU, torch::kLong).contiguous();
  return {offsets.data_ptr<int64_t>(), offsets.data_ptr<int64_t>() + offsets.numel()};
}

}  // namespace

AttentionOutput varlen_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                 const torch::Tensor& cu_seqlens_q, const torch::Tensor& cu_seqlens_k,
                                 const AttentionOptions& options) {
  constexpr const char* where = "varlen_attention";
  detail::check_varlen_inputs(query, key, value, cu_seqlens_q, cu_seqlens_k, options, where);
  const auto shared = detail::packed_rule(options, query.size(1), key.size(1), query.device());
  const auto query_offsets = offsets_of(cu_seqlens_q), key_offsets = offsets_of(cu_seqlens_k);
  std::vector<detail::Segment> sequences;
  for (size_t i = 0; i + 1 < query_offsets.size(); ++i) {
    detail::Segment sequence;
    sequence.rule = shared;
    sequence.rule.query_len = query_offsets[i + 1] - query_offsets[i];
    sequence.rule.key_len = key_offsets[i + 1] - key_offsets[i];
    sequence.rule.query_offset = sequence.rule.key_len - sequence.rule.query_len;  // bottom-right
    sequence.query_start = query_offsets[i];
    sequence.key_start = key_offsets[i];
    sequence.sequence = static_cast<int64_t>(i);
    sequences.push_back(std::move(sequence));
  }
  // keys and values [T, Hkv, w] → the canonical [1, Hkv, T, w]
  return detail::packed_attention(query, key.permute({1, 0, 2}).unsqueeze(0).contiguous(),
                                  value.permute({1, 0, 2}).unsqueeze(0).contiguous(), std::move(sequences),
                                  /*key_block=*/0, options);
}

}  // namespace attention
