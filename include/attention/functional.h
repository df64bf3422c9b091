#pragma once
/// \file
/// The math of attention as free functions: softmax, masks, scaled dot-product attention and multi-head attention.
///
/// SHAPE LETTERS, used the same way in every file of the library:
///   B    batch
///   H    query heads; Hkv key/value heads (grouped-query attention: Hkv divides H; Hkv = H otherwise)
///   Tq   query length, Tk key length (T where they are equal)
///   E    model width (`embed_dim`): the width of a module's input and output
///   d    width of one head's queries and keys (E / H in the multi-head modules)
///   dv   width of one head's values
/// Tensors are batch-first. The functional API takes a query `[..., Tq, d]`, keys `[..., Tk, d]` and values
/// `[..., Tk, dv]`, where `...` is any number of leading dimensions: `[B, H]`, `[B]`, or none (unbatched).
/// With 4 or more dimensions, dimension -3 is the heads.
///
/// MASK CONVENTION — read this once:
///   * a **bool** mask is `true` where a query **may attend** to a key (the convention of PyTorch's
///     `scaled_dot_product_attention`);
///   * a **floating** mask is **added** to the scores (0 = keep, -inf = block).
/// This is the OPPOSITE of `torch::nn::MultiheadAttention`'s bool masks, where `true` means "blocked".
/// Convert such a mask with `logical_not()`. A floating mask that holds only 0s and 1s is a mistaken
/// "multiplicative" mask and is refused with an error (on the CPU; on other devices the check is skipped, as it
/// would wait for the device on every call).
/// A mask must broadcast to the scores, `[..., Tq, Tk]` (for the modules: `[B, H, Tq, Tk]`).
/// A query row whose keys are all masked gets zero weights and a zero context (not NaN), and zero gradients.
///
/// POSITIONS, one rule for causal masks, sliding windows, ALiBi and score_mod: key j sits at position j; query
/// row i sits at position i under CausalAlignment::TopLeft and at i + (Tk - Tq) under BottomRight (as when
/// decoding with a key/value cache), whether `causal` is set or not.
///
/// CALL IT QUALIFIED: `attention::scaled_dot_product_attention(q, k, v)`. On LibTorch 2.x an unqualified call
/// with tensor arguments also finds `at::scaled_dot_product_attention` by argument-dependent lookup, and the
/// call is ambiguous, even after `using namespace attention;`.

#include <torch/arg.h>
#include <torch/types.h>

#include <attention/export.h>
#include <attention/flex.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace attention {

class KVCache;
class PagedKVCache;

/// What an attention function or module returns.
struct AttentionOutput {
  /// Attention output: `[..., Tq, dv]` from the functional API; `[B, Tq, E]` (or `[Tq, E]` unbatched) from the
  /// modules.
  torch::Tensor context;
  /// Softmax-normalised attention weights, each row sums to 1 (0 for a fully masked row): `[..., Tq, Tk]` from
  /// the functional API, `[B, Tq, Tk]` single-head, `[B, H, Tq, Tk]` multi-head (per query head also under
  /// grouped-query attention). Taken **before** dropout, so they are the attention distribution itself.
  /// Undefined when weights were not requested (`need_weights(false)`), and always from varlen_attention().
  torch::Tensor weights;
  /// With AttentionOptions::return_lse(true): log Σ_j exp(x_ij), x the scores the softmax sees (scaled, biased,
  /// modified) over the keys row i may attend, sinks excluded; -inf for a row with none. `[..., Tq]` (`[B, H, Tq]`
  /// for 4-d inputs), `[Tq_total, H]` from varlen_attention(); float32 (float64 for float64 inputs). Gradients
  /// flow through it. Undefined otherwise.
  torch::Tensor lse;
};

/// Where a causal mask's diagonal sits when the query and key lengths differ (see POSITIONS above).
enum class CausalAlignment {
  /// Query i sees keys 0..i (PyTorch's `is_causal`, `tril` of a `[Tq, Tk]` matrix of ones).
  TopLeft,
  /// Query i sees keys 0..i + (Tk - Tq): the last query sees every key (decoding with a key/value cache).
  BottomRight,
};

/// How scaled_dot_product_attention computes its result. chosen_path() tells which one runs.
enum class AttentionPath {
  /// The fastest path that can compute the case, chosen by a rule measured per platform (README, "Which path
  /// runs"): the weights or dropout need Materialized; otherwise Fused where LibTorch's kernel expresses the case,
  /// else Tiled for a sliding window, or from Tq·Tk = 2^18 scores per head when causal, when not causal from 2^22
  /// per head with gradients recorded and otherwise above 2^24 scores in all (B·H·Tq·Tk); else Materialized.
  /// On the CPU with more than one thread over a BLAS library with threads of its own (Debian's OpenBLAS), every
  /// path runs on the calling thread, the matrix products on the BLAS library's threads (README, "Which path runs").
  Auto,
  /// Materialise the full `[..., Tq, Tk]` score and weight matrices (needed for weights and dropout).
  Materialized,
  /// Memory-efficient: tiles of queries and keys with an online softmax (running max and sum), never holding the
  /// score matrix; O(Tq + Tk) memory per head, forward and backward (recomputed per tile). Tiles that a causal
  /// mask or a sliding window hides entirely are skipped; a few query rows (decoding: at most 16 per key/value head)
  /// take their keys (at most 4096) in one tile with an ordinary softmax. On the CPU, tasks of (batch, key/value
  /// head, query block) run in parallel on LibTorch's threads; float32 accumulators for float16/bfloat16 inputs.
  /// Requires need_weights(false) and no active dropout. Gradients do not flow into a floating mask.
  Tiled,
  /// LibTorch's fused `at::scaled_dot_product_attention` (flash / memory-efficient / cuDNN kernels on CUDA, the
  /// flash kernel on the CPU), with this library's semantics (mask convention, zero rows, both causal
  /// alignments). Needs LibTorch >= 2.1 and need_weights(false). Where the kernel cannot express a case exactly
  /// (ALiBi, sliding windows, score_mod, mask_mod, sinks, the log-sum-exp, grouped heads it would have to copy, or
  /// a dense mask it would have to build at long lengths) or on LibTorch 1.x, the Tiled path runs instead;
  /// chosen_path() says so.
  Fused,
};

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
/// AttentionOptions::window() does the same without building the mask, and skips the work it hides.
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
  /// Where query rows sit when Tq != Tk (see POSITIONS): the causal diagonal, windows, ALiBi, score_mod.
  /// Default: top-left, as PyTorch.
  TORCH_ARG(CausalAlignment, causal_alignment) = CausalAlignment::TopLeft;
  /// Sliding window: a query at position i sees only keys j with |i - j| <= window (with `causal`, its last
  /// window + 1 keys). Work outside the band is skipped on the tiled path: O(T·window). >= 0; unset = no window.
  TORCH_ARG(std::optional<int64_t>, window) = std::nullopt;
  /// ALiBi: float slopes `[H]` (alibi_slopes(H)); adds -slope_h·|i - j| (positions, see above) to the scaled
  /// scores of head h, computed per tile, never as a dense `[H, Tq, Tk]` tensor. H is the query's dimension -3
  /// (1 for inputs without heads).
  TORCH_ARG(torch::Tensor, alibi_slopes) = {};
  /// Grouped-query attention: keys and values may have fewer heads (dimension -3) than the query, a divisor of
  /// them; query head h uses key/value head h / (H / Hkv). K and V are never repeated in memory.
  TORCH_ARG(bool, enable_gqa) = false;
  /// Modifies each tile of scores; see ScoreMod. Order on every path: the scaled scores, plus a floating mask and
  /// ALiBi, then score_mod, then the blocking masks (bool mask, causal, window, mask_mod) as -inf.
  TORCH_ARG(ScoreMod, score_mod) = nullptr;
  /// Blocks the keys it returns false for (see MaskMod), like a bool mask computed per tile, never as a dense
  /// `[..., Tq, Tk]` tensor.
  TORCH_ARG(MaskMod, mask_mod) = nullptr;
  /// A block mask of the scores `[B, H, Tq, Tk]` (create_block_mask(); its B and H may be 1; top-left positions, so
  /// Tq == Tk or TopLeft alignment): its mask_mod blocks keys as mask_mod() does, and the tiled path runs tiles of
  /// its block_size, skips its empty blocks and calls the mask_mod only on its partial ones. Not together with
  /// mask_mod(), nor with a block_size() other than 0 or its own (an error).
  TORCH_ARG(BlockMask, block_mask) = {};
  /// Attention sinks (gpt-oss): one extra logit per query head, `[H]` floating, in each row's softmax, whose
  /// probability is discarded: w_ij = exp(x_ij) / (Σ_j exp(x_ij) + exp(sinks_h)). Rows then sum to less than 1;
  /// a row with nothing to attend still gives zeros. Gradients flow into it. H as for alibi_slopes.
  TORCH_ARG(torch::Tensor, sinks) = {};
  /// Also return the log-sum-exp of each row (AttentionOutput::lse): two calls over two parts of the keys merge
  /// exactly, by weighting each context with exp(lse_part - lse_all).
  TORCH_ARG(bool, return_lse) = false;
  /// Probability of zeroing an attention weight (applied only when `training` is true).
  TORCH_ARG(double, dropout) = 0.0;
  /// Dropout is active only when true; the functional API never guesses the mode.
  TORCH_ARG(bool, training) = false;
  /// Multiplier of the scores; <= 0 means the default 1/sqrt(d), d the query width.
  TORCH_ARG(double, scale) = 0.0;
  /// Return the weights. false skips them (the fast paths); `AttentionOutput::weights` is then undefined.
  TORCH_ARG(bool, need_weights) = true;
  /// Which computation runs; see AttentionPath and chosen_path().
  TORCH_ARG(AttentionPath, path) = AttentionPath::Auto;
  /// Rows and columns of a tile of the tiled path (queries and keys); 0 = the defaults (kDefaultQueryBlock
  /// queries x kDefaultKeyBlock keys). Results do not depend on it beyond rounding.
  TORCH_ARG(int64_t, block_size) = 0;
};

/// Default tile of the tiled path: queries x keys per tile.
constexpr int64_t kDefaultQueryBlock = 256;
constexpr int64_t kDefaultKeyBlock = 512;

/// The path (Materialized, Tiled or Fused) that scaled_dot_product_attention takes for these inputs and options:
/// the one it would run, after every fallback. Validates like scaled_dot_product_attention. Throws c10::Error
/// when AttentionPath::Tiled or Fused is forced together with need_weights or active dropout (Tiled).
ATTENTION_API AttentionPath chosen_path(const torch::Tensor& query, const torch::Tensor& key,
                                        const torch::Tensor& value, const AttentionOptions& options = {});

/// Sets the number of CPU threads LibTorch uses for intra-op parallelism (at::set_num_threads); n >= 1.
/// Safe to call more than once. Results are the same for any thread count. The library itself never changes it.
ATTENTION_API void set_num_threads(int n);

/// softmax(q kᵀ · scale + mask) v, with dropout on the weights in training.
/// q `[..., Tq, d]`, k `[..., Tk, d]`, v `[..., Tk, dv]` (same leading dimensions, except fewer key/value heads
/// with enable_gqa; same floating dtype and device) → context `[..., Tq, dv]`, weights `[..., Tq, Tk]`.
/// Tk = 0 gives a zero context; Tq = 0 an empty one.
/// Throws c10::Error naming the shapes on mismatched ranks, widths, lengths or masks.
///
/// Example:
///   auto out = attention::scaled_dot_product_attention(q, k, v, attention::AttentionOptions().causal(true));
ATTENTION_API AttentionOutput scaled_dot_product_attention(const torch::Tensor& query, const torch::Tensor& key,
                                                           const torch::Tensor& value,
                                                           const AttentionOptions& options = {});

/// Attention over a batch of sequences of different lengths packed end to end, without padding: sequence i's
/// queries are rows [cu_seqlens_q[i], cu_seqlens_q[i + 1]) of `query` and attend only its keys, rows
/// [cu_seqlens_k[i], cu_seqlens_k[i + 1]) of `key` and `value`. Work and memory follow Σ Tq_i·Tk_i.
///   query `[Tq_total, H, d]`, key `[Tk_total, Hkv, d]`, value `[Tk_total, Hkv, dv]` (Hkv divides H: grouped-query
///   attention without enable_gqa), cu_seqlens_q and cu_seqlens_k int32 or int64 `[N + 1]`, on the CPU or the
///   query's device (read by the host, one synchronisation), starting at 0, non-decreasing, ending at the totals.
///   Empty sequences are allowed.
///   → context `[Tq_total, H, dv]`, lse `[Tq_total, H]` with return_lse; no weights.
/// Positions are bottom-right in every sequence: query i of sequence s sits at i + Tk_s - Tq_s (new tokens after
/// their sequence's cache; the usual positions when the lengths are equal), whatever causal_alignment says.
/// causal, window, ALiBi, score_mod, mask_mod (ScoreIndex::batch is the sequence, positions within it), sinks,
/// scale and return_lse apply per sequence; a dense mask, a block mask, dropout and a forced materialised path do
/// not exist here (an error).
/// Runs the tiled path, on any device, with gradients; a sequence's result is bitwise the same whatever else is in
/// the batch, and for any thread count.
/// Throws c10::Error naming the problem for malformed cu_seqlens or shapes.
///
/// Example (two sequences of 3 and 5 tokens):
///   auto cu = torch::tensor({0, 3, 8}, torch::kInt32);
///   auto out = attention::varlen_attention(q, k, v, cu, cu, attention::AttentionOptions().causal(true));
ATTENTION_API AttentionOutput varlen_attention(const torch::Tensor& query, const torch::Tensor& key,
                                               const torch::Tensor& value, const torch::Tensor& cu_seqlens_q,
                                               const torch::Tensor& cu_seqlens_k, const AttentionOptions& options = {});

/// Options of multi_head_attention_forward(): the head counts, the four projections as `torch::nn::Linear` holds
/// them (weight `[out, in]`, applied as x·weightᵀ + bias), and how the heads attend.
struct ATTENTION_API MultiHeadAttentionForwardOptions {
  MultiHeadAttentionForwardOptions(int64_t num_heads, torch::Tensor W_q_weight, torch::Tensor W_k_weight,
                                   torch::Tensor W_v_weight, torch::Tensor W_o_weight)
      : num_heads_(num_heads),
        num_kv_heads_(num_heads),
        W_q_weight_(std::move(W_q_weight)),
        W_k_weight_(std::move(W_k_weight)),
        W_v_weight_(std::move(W_v_weight)),
        W_o_weight_(std::move(W_o_weight)) {}
  /// Number of query heads H.
  TORCH_ARG(int64_t, num_heads);
  /// Number of key/value heads Hkv, a divisor of H (grouped-query attention; 1: multi-query). Default: num_heads.
  TORCH_ARG(int64_t, num_kv_heads);
  /// Query projection `[H·d, E]`.
  TORCH_ARG(torch::Tensor, W_q_weight);
  /// Key projection `[Hkv·d, kdim]`.
  TORCH_ARG(torch::Tensor, W_k_weight);
  /// Value projection `[Hkv·dv, vdim]`.
  TORCH_ARG(torch::Tensor, W_v_weight);
  /// Output projection `[E, H·dv]`.
  TORCH_ARG(torch::Tensor, W_o_weight);
  /// Biases `[rows of the weight]`, each optional: undefined (the default) adds none.
  TORCH_ARG(torch::Tensor, W_q_bias) = {};
  TORCH_ARG(torch::Tensor, W_k_bias) = {};
  TORCH_ARG(torch::Tensor, W_v_bias) = {};
  TORCH_ARG(torch::Tensor, W_o_bias) = {};
  /// How the heads attend, as in scaled_dot_product_attention(): mask (broadcast to `[B, H, Tq, Tk]`), causal and
  /// its alignment, dropout and training, need_weights, and window, ALiBi slopes `[H]`, score_mod. enable_gqa is
  /// set from the head counts.
  TORCH_ARG(AttentionOptions, attention_options) = {};
  /// Rotate the queries and keys of each head by their positions (rotary_embedding(), rotate-half); d must be even.
  /// Token t of the query, and of the key, sits at position t (+ the cache's size with a kv_cache). Default: false.
  TORCH_ARG(bool, rope) = false;
  /// The base of the rotary frequencies. Default: 10000.
  TORCH_ARG(double, rope_base) = 10000.0;
  /// Explicit rotary frequencies `[d/2]` instead of those of rope_base (rotary_embedding(x, positions, frequencies)),
  /// as Llama 3's rope_scaling makes them. Undefined (the default): rope_base's.
  TORCH_ARG(torch::Tensor, rope_frequencies) = {};
  /// Generation: the projected (and rotated) keys and values are appended to this cache, and the query attends to
  /// every cached token. The query's tokens are the newest, so the alignment is CausalAlignment::BottomRight
  /// whatever attention_options says. Not owned; null (the default) = no cache.
  // Written out, not a TORCH_ARG: its `const T&` would read `const KVCache*&`, a pointer to a const cache.
 public:
  MultiHeadAttentionForwardOptions& kv_cache(KVCache* cache) {
    kv_cache_ = cache;
    return *this;
  }
  KVCache* kv_cache() const { return kv_cache_; }

 private:
  KVCache* kv_cache_ = nullptr;

 public:
  /// QK-norm (Qwen3, OLMo 2, Gemma 3): the weight `[d]` of an RMS normalisation (rms_norm()) of each query head,
  /// applied after the heads are split, before rope and before the keys meet the cache. Undefined (the default):
  /// none.
  TORCH_ARG(torch::Tensor, q_norm_weight) = {};
  /// The same for each key head, `[d]`. Undefined (the default): none.
  TORCH_ARG(torch::Tensor, k_norm_weight) = {};
  /// The epsilon of both normalisations, > 0. Default: 1e-6.
  TORCH_ARG(double, qk_norm_eps) = 1e-6;
};

/// Multi-head attention as a function of its weights, the math of MultiHeadAttention and SelfAttention:
/// projects query, key and value, splits them into H query and Hkv key/value heads of width d, attends
/// (scaled_dot_product_attention(), the heads in one batched pass), merges the heads and projects them by W_o.
///   query `[B, Tq, E]`, key `[B, Tk, kdim]`, value `[B, Tk, vdim]` (or all unbatched, without B)
///   → context `[B, Tq, E]`, weights per query head `[B, H, Tq, Tk]` (Tk counts the cached tokens with a kv_cache).
/// When query, key and value are the same tensor, the three input projections are one matrix product. Unlike
/// torch::nn::functional::multi_head_attention_forward: batch-first, masks true = may attend, and self-attention
/// told by the tensors' identity, never by comparing their values.
/// Throws c10::Error naming the shapes when the weights do not fit each other, the head counts or the inputs.
///
/// Example:
///   auto out = attention::multi_head_attention_forward(x, x, x, attention::MultiHeadAttentionForwardOptions(
///                  8, mha->W_q->weight, mha->W_k->weight, mha->W_v->weight, mha->W_o->weight));
ATTENTION_API AttentionOutput multi_head_attention_forward(const torch::Tensor& query, const torch::Tensor& key,
                                                           const torch::Tensor& value,
                                                           const MultiHeadAttentionForwardOptions& options);

/// Self-attention of a ragged batch of new tokens against a PagedKVCache, as multi_head_attention_forward() of
/// these weights (SelfAttention::forward_paged() is this of its own): x `[T_new, E]` the new tokens of sequences
/// `ids`, packed in that order, new_tokens[i] rows for ids[i]; their keys and values are appended to their own
/// sequences and each attends its own sequence (positions, rotary ones included, continue from cache.length(id))
/// → context `[T_new, E]`, no weights. options.kv_cache() must be null. Needs torch::NoGradGuard.
ATTENTION_API AttentionOutput multi_head_attention_forward_paged(const torch::Tensor& x, PagedKVCache& cache,
                                                                 const std::vector<int64_t>& ids,
                                                                 const std::vector<int64_t>& new_tokens,
                                                                 const MultiHeadAttentionForwardOptions& options);

/// Non-trainable self-attention of the inputs `[B, T, E]` or `[T, E]`: scores are plain dot products x xᵀ
/// (no scaling), weights their softmax, context = weights · x.
ATTENTION_API AttentionOutput simple_attention(const torch::Tensor& inputs);

/// Non-trainable attention of `query` `[B, Tq, E]` over `inputs` `[B, T, E]` (or unbatched `[Tq, E]`, `[T, E]`):
/// scores = query · inputsᵀ, weights = softmax(scores), context = weights · inputs.
ATTENTION_API AttentionOutput simple_attention(const torch::Tensor& query, const torch::Tensor& inputs);

/// torch::linear(input, weight, bias): input `[..., in]`, weight `[out, in]`, bias `[out]` or undefined →
/// `[..., out]`. A single row of float32 or float64 on the CPU (decoding one token) is one matrix-vector product
/// (BLAS gemv), where LibTorch 1.13's linear runs a gemm that first copies the whole weight matrix: twice as fast
/// for GPT-2 small's weights. The same values up to rounding.
ATTENTION_API torch::Tensor linear(const torch::Tensor& input, const torch::Tensor& weight,
                                   const torch::Tensor& bias = {});

/// Mean of per-head weights over the heads (dimension -3): `[B, H, Tq, Tk]` → `[B, Tq, Tk]`, `[H, Tq, Tk]` →
/// `[Tq, Tk]`.
ATTENTION_API torch::Tensor mean_over_heads(const torch::Tensor& per_head_weights);

}  // namespace attention
