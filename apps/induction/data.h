#pragma once
// The data of the induction task: sequences of random tokens in which a segment of random length is repeated
// once, generated afresh for every training step, and the held-out ones.

#include "induction/config.h"

#include <torch/types.h>

#include <cstdint>

namespace attention::app {

/// Sequences laid out as [random tokens][segment][the same segment][random tokens].
struct Sequences {
  torch::Tensor tokens;   ///< `[B, T]` int64 token ids in [0, vocabulary)
  torch::Tensor repeat;   ///< `[B]` int64: r, where the second copy starts; the first starts at r - L
  torch::Tensor segment;  ///< `[B]` int64: L, the segment's length
};

/// `count` sequences of config.length tokens from `config.vocabulary`, deterministic for `seed`: every token
/// uniformly random, then a segment of uniformly random length L in [min_segment, max_segment] at a uniformly
/// random place, copied right after itself. The random length is what keeps a single layer from solving the
/// task by position. Throws std::invalid_argument for sizes that cannot hold two copies (2 * max_segment >
/// length), segments shorter than 2 (nothing after the first token of the repeat to predict) or min_segment >
/// max_segment, a vocabulary of fewer than 2 tokens, or a count < 1.
Sequences generate_sequences(const InductionConfig& config, int64_t count, uint64_t seed);

/// The training batch of step `step` (from 0) of epoch `epoch` (from 0): config.batch_size fresh sequences that
/// depend only on config.seed, the epoch and the step, so a resumed run sees the same ones.
Sequences training_batch(const InductionConfig& config, int64_t epoch, int64_t step);

/// The held-out sequences: config.test_sequences of them, from a stream of config.seed no training batch draws
/// from.
Sequences held_out_sequences(const InductionConfig& config);

/// The next-token predictions that the first copy makes predictable: `[B, T - 1]` bool, true at position t (the
/// prediction of token t + 1) when t + 1 is in the second copy after its first token, t in [r, r + L - 2]. The
/// first token of the repeat is not among them: nothing announces where the repeat starts.
torch::Tensor repeated_predictions(const Sequences& sequences);

}  // namespace attention::app
