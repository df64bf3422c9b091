#pragma once
// Attention of sequences packed end to end in the rows of one tensor, each a Segment of its own lengths: what
// varlen_attention and a PagedKVCache share. Internal; not installed.

#include <attention/functional.h>

#include "paths/plan.h"

#include <vector>

namespace attention::detail {

/// The rule every packed sequence shares (causal, window, ALiBi, score_mod, mask_mod); each Segment copies it and
/// sets its own lengths and offset.
ScoreRule packed_rule(const AttentionOptions& options, int64_t heads, int64_t kv_heads, const torch::Device& device);

/// Packed queries [T, H, d] against canonical keys [1, Hkv, rows, d] and values [1, Hkv, rows, dv], sequence by
/// sequence (`segments`) on the tiled path: context [T, H, dv], lse [T, H] when options.return_lse(), sinks
/// applied. Key tiles of `key_block` rows (0: the options' block_size, else the default).
AttentionOutput packed_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                 std::vector<Segment> segments, int64_t key_block, const AttentionOptions& options);

}  // namespace attention::detail
