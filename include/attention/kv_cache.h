#pragma once
/// \file
/// KVCache: the projected (and rotated) keys and values of the tokens seen so far, for generation with
/// SelfAttention::forward_cached().

#include <torch/types.h>

#include <attention/export.h>

#include <cstdint>

namespace attention {

/// Keys and values `[B, Hkv, T, d]` of the T tokens seen so far. Appending reuses spare capacity (grown by
/// doubling), so a decoding step copies only its own tokens; while gradients are recorded it concatenates
/// instead, so they flow back through the cache. One cache per layer and sequence batch; not thread-safe.
///
/// Example:
///   attention::KVCache cache;
///   for (...) { auto out = layer->forward_cached(next_token_embedding, cache); }  // cache.size() grows by 1
class ATTENTION_API KVCache {
 public:
  KVCache() = default;

  /// Number of cached tokens T.
  int64_t size() const { return size_; }
  /// Forgets every token (keeps no memory).
  void clear();

  /// The cached keys `[B, Hkv, T, d]` (a view; undefined when empty).
  torch::Tensor keys() const;
  /// The cached values `[B, Hkv, T, dv]` (a view; undefined when empty).
  torch::Tensor values() const;

  /// Appends `keys` `[B, Hkv, T_new, d]` and `values` `[B, Hkv, T_new, dv]`. Throws c10::Error naming the shapes
  /// when B, Hkv, the widths, dtype or device differ from what the cache holds.
  void append(const torch::Tensor& keys, const torch::Tensor& values);

 private:
  torch::Tensor keys_;    // [B, Hkv, capacity, d]
  torch::Tensor values_;  // [B, Hkv, capacity, dv]
  int64_t size_ = 0;
};

}  // namespace attention
