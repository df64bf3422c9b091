#pragma once
// multi_head_attention_forward() for the modules, whose errors name the module. Internal; not installed.

#include <attention/functional.h>
#include <attention/paged_kv_cache.h>

#include <array>
#include <cstdint>
#include <vector>

namespace attention::detail {

/// attention::multi_head_attention_forward(), with `where` naming the caller in error messages ("SelfAttention").
AttentionOutput multi_head_forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                   const MultiHeadAttentionForwardOptions& options, const char* where);

/// Rows (B·T) above which project_together() makes three products instead of one: a long prefill's packed
/// `[rows, (H + 2·Hkv)·d]` result is one allocation several times the size of each part, which malloc maps afresh
/// on every layer (a page fault per 4 KiB, measured 15 µs each on this project's virtual machines).
constexpr int64_t kPackedProjectionRows = 512;

/// The three input projections of x `[B, T, E]` as one matrix product (self-attention): q `[B, T, H·d]`, k
/// `[B, T, Hkv·d]`, v `[B, T, Hkv·dv]`; three products above kPackedProjectionRows rows. A missing bias among
/// several counts as zeros.
std::array<torch::Tensor, 3> project_together(const torch::Tensor& x, const MultiHeadAttentionForwardOptions& options);

/// `x` [..., T, d] rotated to `positions` [T] by the options' rope_frequencies, or those of its rope_base.
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& positions,
                     const MultiHeadAttentionForwardOptions& options);

/// Self-attention of the packed new tokens x `[T_new, E]` of sequences `ids` (new_tokens[i] rows each) against
/// `cache` (SelfAttention::forward_paged()): projections, QK-norm, rope from each sequence's length, the cache's
/// append and attention, W_o. options.kv_cache() must be null.
AttentionOutput paged_self_attention(const torch::Tensor& x, PagedKVCache& cache, const std::vector<int64_t>& ids,
                                     const std::vector<int64_t>& new_tokens,
                                     const MultiHeadAttentionForwardOptions& options, const char* where);

}  // namespace attention::detail
