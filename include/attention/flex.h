#pragma once
/// \file
/// FlexAttention's ideas in C++: a score_mod changes scores, a mask_mod says which keys a query may attend, and a
/// block mask lets the tiled path skip the blocks a mask_mod leaves empty. Used through AttentionOptions
/// (functional.h): `score_mod(...)`, `mask_mod(...)`, `block_mask(...)`.

#include <torch/types.h>

#include <attention/export.h>

#include <cstdint>
#include <functional>

namespace attention {

/// Indices of a tile of scores, handed to a ScoreMod or a MaskMod. Each is an int64 tensor on the scores' device
/// that broadcasts to the tile.
struct ScoreIndex {
  /// The batch: all dimensions before the heads, flattened (0 for unbatched input); the sequence under
  /// varlen_attention().
  torch::Tensor batch;
  /// The query head (dimension -3 of the query with 4 or more dimensions; 0 otherwise).
  torch::Tensor head;
  /// The query's position (functional.h, POSITIONS), not its index within the tile; within its sequence under
  /// varlen_attention().
  torch::Tensor query;
  /// The key's position.
  torch::Tensor key;
};

/// FlexAttention's score modification: takes a tile of scores (its last two dimensions are queries and keys;
/// the leading ones are the path's business) and its ScoreIndex, returns modified scores of the same shape.
/// Called on every path, possibly several times per forward and backward, and on the CPU from several threads
/// at once: it must be a pure function of its arguments and of the tensors it captures. Gradients flow into
/// captured tensors that require grad (on the tiled path they are accumulated into `.grad` of the leaves
/// they come from, as with re-entrant checkpointing).
using ScoreMod = std::function<torch::Tensor(const torch::Tensor& scores, const ScoreIndex& index)>;

/// FlexAttention's mask_mod: a bool tensor that broadcasts to the tile of the ScoreIndex, true where the query may
/// attend the key. Pure, like a ScoreMod, and called from several threads at once on the CPU. Combine the index
/// tensors by broadcasting only: they have 5 dimensions on the attention paths and 4 in create_block_mask().
using MaskMod = std::function<torch::Tensor(const ScoreIndex& index)>;

/// The score_mod `cap · tanh(score / cap)` (Gemma 2's soft-capping): scores stay within (-cap, cap). cap > 0.
ATTENTION_API ScoreMod softcap(double cap);

/// Attend where both masks allow.
ATTENTION_API MaskMod and_masks(MaskMod a, MaskMod b);
/// Attend where either mask allows.
ATTENTION_API MaskMod or_masks(MaskMod a, MaskMod b);

/// Documents packed into one row: a query attends only keys of its own document. `ids` int64 `[B, T]` (one row
/// of document ids per batch) or `[T]` (the same for every batch); positions index them, so Tq, Tk <= T.
/// Combine with causal(true) for packed causal training.
ATTENTION_API MaskMod document_mask(const torch::Tensor& ids);

/// A prefix language model: every query attends the first `prefix_length` keys (the prefix, bidirectional) and the
/// keys at or before its own position (causal after it). prefix_length >= 0.
ATTENTION_API MaskMod prefix_lm_mask(int64_t prefix_length);

/// Which blocks of a `[B, H, Tq, Tk]` score matrix a mask_mod leaves empty (no query may attend any key), full (all
/// may) or partial. Made by create_block_mask(); given to AttentionOptions::block_mask(), it makes the tiled path
/// skip the empty blocks and call the mask_mod only on partial ones. Cheap to copy (tensors share storage).
class ATTENTION_API BlockMask {
 public:
  /// A block's state, as stored in blocks().
  enum State : int8_t { kEmpty = 0, kPartial = 1, kFull = 2 };

  /// No mask (defined() is false).
  BlockMask() = default;
  /// `blocks`: int8 State `[B|1, H|1, ceil(Tq / block_size), ceil(Tk / block_size)]` on the CPU, for `mask_mod`.
  BlockMask(MaskMod mask_mod, torch::Tensor blocks, int64_t query_len, int64_t key_len, int64_t block_size);

  bool defined() const { return blocks_.defined(); }
  const MaskMod& mask_mod() const { return mask_mod_; }
  /// int8 State per block `[B|1, H|1, query blocks, key blocks]`, on the CPU (1 where the mask broadcasts).
  const torch::Tensor& blocks() const { return blocks_; }
  int64_t query_len() const { return query_len_; }
  int64_t key_len() const { return key_len_; }
  /// Queries and keys per block (both directions).
  int64_t block_size() const { return block_size_; }
  /// The fraction of blocks that are empty, in [0, 1].
  double sparsity() const;

 private:
  MaskMod mask_mod_;
  torch::Tensor blocks_;
  int64_t query_len_ = 0;
  int64_t key_len_ = 0;
  int64_t block_size_ = 0;
};

/// Classifies every block_size x block_size block of the `[B, H, Tq, Tk]` scores by evaluating `mask_mod` on
/// `device`, one row of blocks at a time (memory B·H·block_size·Tk bools). B or H may be 1 for a mask that is the
/// same for every batch or head (it then serves any). Positions are top-left: query i at i, key j at j. Costs one
/// boolean evaluation per score, far less than the attention it serves.
/// Throws c10::Error when a size is < 1 (Tq, Tk may be 0) or the mask_mod's result is not bool or not broadcastable.
ATTENTION_API BlockMask create_block_mask(const MaskMod& mask_mod, int64_t B, int64_t H, int64_t Tq, int64_t Tk,
                                          int64_t block_size = 128, torch::Device device = torch::kCPU);

}  // namespace attention
