#pragma once
/// \file
/// PagedKVCache: the keys and values of many sequences of different lengths in fixed-size blocks, for decoding a
/// ragged batch (SelfAttention::forward_paged()). Sequences that share a prefix share its blocks.

#include <torch/types.h>

#include <attention/export.h>
#include <attention/functional.h>

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace attention {

/// Options of PagedKVCache.
struct ATTENTION_API PagedKVCacheOptions {
  /// Tokens per block: the unit of allocation and sharing, and the key tile of its attention. Default: 256.
  TORCH_ARG(int64_t, block_size) = 256;
  /// A layer with a sliding window: each sequence keeps only the blocks holding its last `window` keys (and the
  /// new tokens'), so its memory is bounded by window + 2·block_size tokens. Attend with a window <= this one.
  TORCH_ARG(std::optional<int64_t>, window) = std::nullopt;
};

/// Keys `[Hkv, d]` and values `[Hkv, dv]` of every token of many sequences (one layer), stored in blocks of
/// block_size tokens; each sequence has a table of its blocks. The heads, widths, dtype and device are those of the
/// first append(). Blocks come from a pool that grows by doubling (an append of many blocks at once: to the power of
/// two that fits them, in one step); a removed sequence's blocks are reused.
/// Not thread-safe. Decoding only: no gradients flow through it.
///
/// Example (one layer; a model keeps one cache per layer and adds, forks and removes in each alike):
///   attention::PagedKVCache cache;
///   auto a = cache.add_sequence(), b = cache.add_sequence();
///   auto out = layer->forward_paged(x, cache, {a, b}, {5, 3});  // x [8, E]: a's 5 new tokens, then b's 3
class ATTENTION_API PagedKVCache {
 public:
  explicit PagedKVCache(const PagedKVCacheOptions& options = {});

  /// A new, empty sequence; returns its id.
  int64_t add_sequence();
  /// A new sequence holding `id`'s tokens: it shares id's blocks; the first write into a shared block copies it.
  int64_t fork(int64_t id);
  /// Forgets sequence `id`; its blocks that no other sequence shares return to the pool.
  void remove(int64_t id);
  /// Tokens appended to sequence `id` so far (the position of its next token), evicted ones included.
  int64_t length(int64_t id) const;
  /// Whether `id` is a sequence of this cache.
  bool contains(int64_t id) const { return sequences_.count(id) > 0; }
  /// Number of sequences.
  int64_t num_sequences() const { return static_cast<int64_t>(sequences_.size()); }
  /// Blocks held by sequences, shared ones once: the memory in use is blocks_in_use() · block_size tokens.
  int64_t blocks_in_use() const;
  const PagedKVCacheOptions& options() const { return options_; }

  /// Appends new tokens: keys `[T_new, Hkv, d]` and values `[T_new, Hkv, dv]`, packed in the order of `ids`,
  /// `new_tokens[i]` rows for sequence ids[i] (ids distinct). Throws c10::Error naming the problem for unknown ids,
  /// counts that do not add up to T_new, or shapes, dtype or device unlike earlier appends.
  void append(const std::vector<int64_t>& ids, const std::vector<int64_t>& new_tokens, const torch::Tensor& keys,
              const torch::Tensor& values);

  /// Attention of each sequence's newest tokens over its cached keys, as varlen_attention() with these keys:
  /// `query` `[T_q, H, d]` packed in the order of `ids`, `query_tokens[i]` rows for ids[i], positions bottom-right
  /// (the last query of a sequence sits at its last key) → context `[T_q, H, dv]` (lse `[T_q, H]` with
  /// return_lse). Options as varlen_attention(); with a window cache, a window no wider than the cache's. Call it
  /// without recording gradients (torch::NoGradGuard).
  AttentionOutput attend(const torch::Tensor& query, const std::vector<int64_t>& ids,
                         const std::vector<int64_t>& query_tokens, const AttentionOptions& options = {}) const;

 private:
  struct Sequence {
    std::vector<int64_t> blocks;  // block of tokens [i·block_size, (i + 1)·block_size); -1 once evicted
    int64_t length = 0;
  };
  const Sequence& sequence(int64_t id, const char* where) const;
  int64_t allocate_block();
  void release_block(int64_t block);
  void grow_pool(int64_t blocks);
  /// Before sequence `id` writes at positions [first, ...): evicts blocks the window no longer needs, gives it the
  /// blocks to write into (copies of shared ones), and returns the pool rows of the positions.
  void prepare_writes(Sequence& sequence, int64_t count, std::vector<int64_t>& rows);

  PagedKVCacheOptions options_;
  torch::Tensor keys_;               // [1, Hkv, blocks · block_size, d]
  torch::Tensor values_;             // [1, Hkv, blocks · block_size, dv]
  std::vector<int64_t> references_;  // per block: how many sequences hold it
  std::vector<int64_t> free_blocks_;
  std::unordered_map<int64_t, Sequence> sequences_;
  int64_t next_id_ = 0;
};

}  // namespace attention
