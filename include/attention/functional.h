#pragma once
/// \file
/// The math of attention as free functions: softmax, masks and scaled dot-product attention.
///
/// Shapes: tensors are batch-first. A query is `[..., Tq, d]`, keys `[..., Tk, d]`, values `[..., Tk, dv]`,
/// where `...` is any number of leading dimensions (`[B]`, `[B, H]`, or none for unbatched input).
///
/// MASK CONVENTION — read this once:
///   * a **bool** mask is `true` where a query **may attend** to a key (the convention of PyTorch's
///     `scaled_dot_product_attention`);
///   * a **floating** mask is **added** to the scores (0 = keep, -inf = block).
/// This is the OPPOSITE of `torch::nn::MultiheadAttention`'s bool masks, where `true` means "blocked".
/// Convert such a mask with `logical_not()`. A floating mask that holds only 0s and 1s is a mistaken
/// "multiplicative" mask and is refused with an error.
/// A mask must broadcast to the scores, `[..., Tq, Tk]` (for the modules: `[B, H, Tq, Tk]`).
/// A query row whose keys are all masked gets zero weights and a zero context (not NaN), and zero gradients.

#include <torch/arg.h>
#include <torch/types.h>

#include <attention/export.h>

#include <cstdint>

namespace attention {

/// What an attention function or module returns.
struct AttentionOutput {
  /// Attention output: `[B, Tq, dv]` (or `[Tq, dv]` for unbatched input).
  torch::Tensor context;
  /// Softmax-normalised attention weights, each row sums to 1 (0 for a fully masked row):
  /// `[B, Tq, Tk]` single-head, `[B, H, Tq, Tk]` multi-head. Taken **before** dropout, so they are the
  /// attention distribution itself. Undefined when weights were not requested (`need_weights(false)`).
  torch::Tensor weights;
};

/// Where a causal mask's diagonal sits when the query and key lengths differ.
enum class CausalAlignment {
  /// Query i sees keys 0..i (PyTorch's `is_causal`, `tril` of a `[Tq, Tk]` matrix of ones).
  TopLeft,
  /// Query i sees keys 0..i + (Tk - Tq): the last query sees every key (decoding with a key/value cache).
  BottomRight,
};

/// How scaled_dot_product_attention computes its result.
enum class AttentionPath {
  /// Tiled when no weights are requested, dropout is off and the scores would be large (Tq * Tk >=
  /// kTiledThreshold per head); materialised otherwise.
  Auto,
  /// Materialise the full `[..., Tq, Tk]` score and weight matrices (needed for weights and dropout).
  Materialized,
  /// Memory-efficient: tiles of queries and keys with an online softmax (running max and sum), never holding
  /// the score matrix; O(Tq + Tk) memory per head, forward and backward (recomputed per tile). Requires
  /// need_weights(false) and no active dropout. Gradients do not flow into a floating mask.
  Tiled,
};

/// Scores per head (Tq * Tk) from which AttentionPath::Auto takes the tiled path: 1024 x 1024.
constexpr int64_t kTiledThreshold = int64_t{1} << 20;

/// Softmax as exp(x) / sum(exp(x)) along `dim`. For teaching only: exp overflows to inf for scores above
/// ~88 (float32) and the result becomes NaN. Differentiable.
ATTENTION_API torch::Tensor softmax_naive(const torch::Tensor& x, int64_t dim = -1);

/// Numerically stable softmax along `dim`: subtracts the maximum before exp, so any finite scores give finite
/// weights. A slice that is entirely -inf (every key masked) gives zeros instead of NaN. Differentiable.
ATTENTION_API torch::Tensor softmax_stable(const torch::Tensor& x, int64_t dim = -1);

/// Bool mask `[Tq, Tk]`, true where query i may attend to key j under causal masking (see CausalAlignment).
ATTENTION_API torch::Tensor causal_mask(int64_t query_len, int64_t key_len, torch::Device device = torch::kCPU,
                                        CausalAlignment alignment = CausalAlignment::TopLeft);

/// Bool mask `[Tq, Tk]`, true where |i - j| <= window: each query sees the keys at most `window` positions
/// away on either side (combine with causal for a sliding window over the past). `window` >= 0.
ATTENTION_API torch::Tensor local_mask(int64_t query_len, int64_t key_len, int64_t window,
                                       torch::Device device = torch::kCPU);

/// Bool mask `[B, 1, 1, Tk]` from integer `lengths` `[B]`: true for key positions j < lengths[b], so padded
/// keys are never attended. Broadcasts against `[B, H, Tq, Tk]`. Lives on the device of `lengths`.
ATTENTION_API torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t key_len);

/// Options of scaled_dot_product_attention().
struct ATTENTION_API AttentionOptions {
  /// Bool (true = may attend) or floating (added to the scores) mask, broadcastable to `[..., Tq, Tk]`.
  TORCH_ARG(torch::Tensor, mask) = {};
  /// Also apply a causal mask (combined with `mask` by logical AND).
  TORCH_ARG(bool, causal) = false;
  /// Diagonal of the causal mask when Tq != Tk. Default: top-left, as PyTorch.
  TORCH_ARG(CausalAlignment, causal_alignment) = CausalAlignment::TopLeft;
  /// Probability of zeroing an attention weight (applied only when `training` is true).
  TORCH_ARG(double, dropout) = 0.0;
  /// Dropout is active only when true; the functional API never guesses the mode.
  TORCH_ARG(bool, training) = false;
  /// Multiplier of the scores; <= 0 means the default 1/sqrt(d), d the query width.
  TORCH_ARG(double, scale) = 0.0;
  /// Return the weights. false skips them (the fast path); `AttentionOutput::weights` is then undefined.
  TORCH_ARG(bool, need_weights) = true;
  /// Materialised or tiled computation; see AttentionPath. chosen_path() tells which one runs.
  TORCH_ARG(AttentionPath, path) = AttentionPath::Auto;
  /// Rows and columns of a tile of the tiled path (queries and keys); 0 = the defaults (kDefaultQueryBlock
  /// queries x kDefaultKeyBlock keys). Results do not depend on it beyond rounding.
  TORCH_ARG(int64_t, block_size) = 0;
};

/// Default tile of the tiled path: queries x keys per tile.
constexpr int64_t kDefaultQueryBlock = 256;
constexpr int64_t kDefaultKeyBlock = 1024;

/// The path (Materialized or Tiled) that scaled_dot_product_attention takes for these lengths and options.
/// Throws c10::Error when AttentionPath::Tiled is forced together with need_weights or active dropout.
ATTENTION_API AttentionPath chosen_path(int64_t query_len, int64_t key_len, const AttentionOptions& options);

/// Sets the number of CPU threads LibTorch uses for intra-op parallelism (at::set_num_threads); n >= 1.
/// Safe to call more than once. Results are the same for any thread count.
ATTENTION_API void set_num_threads(int n);

/// softmax(q kᵀ · scale + mask) v, with dropout on the weights in training.
/// q `[..., Tq, d]`, k `[..., Tk, d]`, v `[..., Tk, dv]` (same leading dimensions, same floating dtype and
/// device) → context `[..., Tq, dv]`, weights `[..., Tq, Tk]`. Tk = 0 gives a zero context; Tq = 0 an empty one.
/// Throws c10::Error naming the shapes on mismatched ranks, widths, lengths or masks.
///
/// Example:
///   auto out = attention::scaled_dot_product_attention(q, k, v, attention::AttentionOptions().causal(true));
ATTENTION_API AttentionOutput scaled_dot_product_attention(const torch::Tensor& query, const torch::Tensor& key,
                                                           const torch::Tensor& value,
                                                           const AttentionOptions& options = {});

/// Non-trainable self-attention of the inputs `[B, T, D]` or `[T, D]`: scores are plain dot products x xᵀ
/// (no scaling), weights their softmax, context = weights · x.
ATTENTION_API AttentionOutput simple_attention(const torch::Tensor& inputs);

/// Non-trainable attention of `query` `[B, Tq, D]` over `inputs` `[B, T, D]` (or unbatched `[Tq, D]`, `[T, D]`):
/// scores = query · inputsᵀ, weights = softmax(scores), context = weights · inputs.
ATTENTION_API AttentionOutput simple_attention(const torch::Tensor& query, const torch::Tensor& inputs);

/// Mean of per-head weights over the heads (dimension -3): `[B, H, Tq, Tk]` → `[B, Tq, Tk]`, `[H, Tq, Tk]` → `[Tq, Tk]`.
ATTENTION_API torch::Tensor mean_over_heads(const torch::Tensor& per_head_weights);

}  // namespace attention
