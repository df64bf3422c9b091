#pragma once
/// \file
/// Position information for attention: rotary embeddings (RoPE) and ALiBi slopes.

#include <torch/types.h>

#include <attention/export.h>

#include <cstdint>

namespace attention {

/// Rotary position embedding (Su et al. 2021) of `x` `[..., T, d]` (d even), in the rotate-half convention of
/// GPT-NeoX and Llama: the pair (x_i, x_{i+d/2}) of the token at position p turns by the angle
/// p · base^(-2i/d). `positions` are integers, `[T]` or `[B, T]`; with `[B, T]`, B is x's first dimension and the
/// positions broadcast over the dimensions between B and T (the heads). Angles are computed in float64, so the
/// result stays accurate (1e-4 in float32) for positions up to 65536 and beyond. Differentiable in x.
///
/// Example:
///   auto q_rotated = attention::rotary_embedding(q, torch::arange(T));  // q [B, H, T, d]
ATTENTION_API torch::Tensor rotary_embedding(const torch::Tensor& x, const torch::Tensor& positions,
                                             double base = 10000.0);

/// The same with explicit frequencies `inverse_frequency` `[d/2]` (the angle of pair i at position p is
/// p · inverse_frequency[i]): frequencies scaled for long contexts, as Llama 3's `rope_scaling` makes them.
ATTENTION_API torch::Tensor rotary_embedding(const torch::Tensor& x, const torch::Tensor& positions,
                                             const torch::Tensor& inverse_frequency);

/// ALiBi's head slopes (Press et al. 2022) for `num_heads` heads, float32 `[H]`: the geometric sequence
/// 2^(-8/H), 2^(-16/H), ... for a power of two; otherwise those of the nearest lower power of two followed by
/// every other slope of the next power of two, as in the paper's code. Pass them to
/// AttentionOptions::alibi_slopes().
ATTENTION_API torch::Tensor alibi_slopes(int64_t num_heads);

}  // namespace attention
