#pragma once
// The plan every attention path works from: the inputs in one canonical layout, and the rule that turns a tile of
// raw scores into masked, biased, modified scores. Internal; not installed.
//
// Canonical layout (letters as in functional.h; B here is every dimension before the heads, flattened, and
// G = H / Hkv query heads share one key/value head, G = 1 without grouped-query attention):
//   query  [B, Hkv, G, Tq, d]      key  [B, Hkv, Tk, d]      value  [B, Hkv, Tk, dv]
//   masks  [B|1, Hkv|1, G|1, Tq|1, Tk|1]   (1 where the user's mask broadcasts)
// A tile of scores is [b, h, G, bq, bk]: a slab of b batches and h key/value heads (one of each for a CPU task,
// all of them on a GPU), all G query heads of those, queries [q0, q0 + bq) and keys [k0, k0 + bk).

#include <attention/functional.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace attention::detail {

/// Batches [batch_begin, batch_end) and key/value heads [head_begin, head_end) of the canonical layout.
struct Slab {
  int64_t batch_begin, batch_end, head_begin, head_end;
  /// Under varlen_attention, the sequence whose rows these are (ScoreIndex::batch); -1 for dense batches.
  int64_t sequence = -1;

  /// `x` [B, Hkv, ...] narrowed to the slab.
  torch::Tensor of(const torch::Tensor& x) const;
};

/// How raw scores q·kᵀ·scale become the scores that the softmax sees: a floating mask and ALiBi are added, then
/// score_mod, then the blocked entries (bool mask, causal, window, mask_mod) become -inf. Under varlen_attention
/// each sequence has a rule of its own (its lengths and offset).
struct ScoreRule {
  int64_t query_len = 0;
  int64_t key_len = 0;
  int64_t group = 1;         // G
  int64_t query_offset = 0;  // query row i sits at position i + query_offset (0, or Tk - Tq bottom-right)
  bool causal = false;
  std::optional<int64_t> window;
  torch::Tensor allowed;       // bool, canonical mask layout, true = may attend; or undefined
  torch::Tensor additive;      // finite floating part of the mask, canonical mask layout; or undefined
  torch::Tensor alibi_slopes;  // float32 [1, Hkv, G, 1, 1]; or undefined
  ScoreMod score_mod;
  MaskMod mask_mod;

  /// Whether anything can block a key (mask, causal, window, mask_mod, or a score_mod that may return -inf).
  bool may_block() const;
  /// The keys [first, last) that some query row in [q0, q1) may see by causal and window; first >= last when none.
  std::pair<int64_t, int64_t> key_range(int64_t q0, int64_t q1) const;
  /// The query rows [first, last) that may see some key in [k0, k1) by causal and window.
  std::pair<int64_t, int64_t> query_range(int64_t k0, int64_t k1) const;

  /// The floating mask and ALiBi added to `scores` (a tile at rows q0.., keys k0..). In place when `in_place`.
  torch::Tensor add_biases(torch::Tensor scores, const Slab& slab, int64_t q0, int64_t k0, bool in_place) const;
  /// score_mod applied, checked to keep the tile's shape; `scores` unchanged when there is none.
  torch::Tensor modify(const torch::Tensor& scores, const Slab& slab, int64_t q0, int64_t k0) const;
  /// -inf where the bool mask, causal, window or mask_mod block; the mask_mod is skipped when `use_mask_mod` is
  /// false (a tile a block mask knows to be full). In place when `in_place`.
  torch::Tensor block(torch::Tensor scores, const Slab& slab, int64_t q0, int64_t k0, bool in_place,
                      bool use_mask_mod = true) const;
  /// All three in order, in place where allowed (never on score_mod's result, which autograd may need).
  torch::Tensor apply(torch::Tensor scores, const Slab& slab, int64_t q0, int64_t k0, bool in_place,
                      bool use_mask_mod = true) const;

 private:
  /// The ScoreIndex of a tile [b, h, G, bq, bk] at rows q0.., keys k0.. (each index [b|1, h|1, G|1, bq|1, bk|1]).
  ScoreIndex index_of(const Slab& slab, int64_t q0, int64_t bq, int64_t k0, int64_t bk,
                      const torch::Device& device) const;
  torch::Tensor mask_tile(const torch::Tensor& mask, const Slab& slab, int64_t q0, int64_t bq, int64_t k0,
                          int64_t bk) const;
  torch::Tensor query_positions(int64_t q0, int64_t bq, const torch::Device& device) const;  // [bq, 1]
  torch::Tensor key_positions(int64_t k0, int64_t bk, const torch::Device& device) const;    // [1, bk]
};

/// Throws unless a mask_mod's result is bool and broadcasts to `tile`.
void check_mask_mod_result(const torch::Tensor& attended, torch::IntArrayRef tile);

/// One sequence's rows in the canonical tensors: dense batches are one Segment of every batch, starting at row 0;
/// varlen_attention's sequences are one Segment each, of batch 0, at their offsets in the packed rows.
/// A PagedKVCache's sequence instead keeps its keys in blocks of `block` rows listed by `key_blocks`.
struct Segment {
  ScoreRule rule;  // its lengths, offset and masks
  int64_t batch_begin = 0, batch_end = 1;
  int64_t query_start = 0, key_start = 0;  // its first query row and key row in the tensors
  int64_t sequence = -1;                   // varlen: the sequence's index; -1 for dense batches
  std::vector<int64_t> key_blocks;         // paged: the block of keys [i·block, (i + 1)·block); empty otherwise

  /// The row in the key tensor of key `position` (paged: of its block's row).
  int64_t key_row(int64_t position, int64_t block) const {
    return key_blocks.empty() ? key_start + position
                              : key_blocks[static_cast<size_t>(position / block)] * block + position % block;
  }
};

/// The inputs of scaled_dot_product_attention in the canonical layout, and the rule for their scores.
struct Plan {
  torch::Tensor query;  // [B, Hkv, G, Tq, d], not scaled
  torch::Tensor key;    // [B, Hkv, Tk, d]
  torch::Tensor value;  // [B, Hkv, Tk, dv]
  double scale = 1.0;
  ScoreRule rule;
  std::vector<int64_t> leading;  // the query's dimensions before Tq: results are reshaped back to them
  BlockMask block_mask;          // tiles to skip (with rule.mask_mod its mask_mod), or undefined

  Slab whole() const { return {0, query.size(0), 0, query.size(1)}; }
  /// Canonical [B, Hkv, G, Tq, x] back to the caller's [..., Tq, x].
  torch::Tensor to_caller(const torch::Tensor& canonical) const;
};

/// The plan of validated inputs and options.
Plan make_plan(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
               const AttentionOptions& options);

}  // namespace attention::detail
