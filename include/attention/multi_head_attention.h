#pragma once
/// \file
/// MultiHeadAttention (W_q, W_k, W_v, W_o; self- or cross-attention) and SelfAttention (with rotary positions
/// and a key/value cache for generation). Both support grouped-query and multi-query attention (num_kv_heads).

#include <attention/export.h>
#include <attention/functional.h>
#include <attention/kv_cache.h>
#include <attention/paged_kv_cache.h>
#include <attention/rms_norm.h>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/any_value.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace attention {

namespace detail {

// TORCH_ARG for a CRTP base: the setters return the derived options (`Derived&`), not the base, so a chain of
// setters may continue with the derived options' own (`SelfAttentionOptions(64, 8).causal(true).rope(true)`).
#define ATTENTION_SHARED_ARG(T, name)                \
 public:                                             \
  Derived& name(const T& new_##name) {               \
    this->name##_ = new_##name;                      \
    return static_cast<Derived&>(*this);             \
  }                                                  \
  Derived& name(T&& new_##name) {                    \
    this->name##_ = std::move(new_##name);           \
    return static_cast<Derived&>(*this);             \
  }                                                  \
  const T& name() const noexcept { return name##_; } \
  T& name() noexcept { return name##_; }             \
                                                     \
 private:                                            \
  T name##_

/// The options MultiHeadAttentionOptions and SelfAttentionOptions share; `Derived` is the one that inherits them.
/// Users name the derived options only.
template <typename Derived>
struct MultiHeadOptionsBase {
  MultiHeadOptionsBase(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads), num_kv_heads_(num_heads) {}
  /// Width E of the query input, of W_q's and W_o's output and of the output.
  ATTENTION_SHARED_ARG(int64_t, embed_dim);
  /// Number of query heads H; each head has width d = E / H, so H must divide E.
  ATTENTION_SHARED_ARG(int64_t, num_heads);
  /// Number of key/value heads Hkv, a divisor of num_heads: grouped-query attention (1: multi-query). W_k and W_v
  /// project to Hkv·d. Default: num_heads (plain multi-head attention).
  ATTENTION_SHARED_ARG(int64_t, num_kv_heads);
  /// Biases in W_q, W_k, W_v, W_o. Default: true (as torch::nn::MultiheadAttention).
  ATTENTION_SHARED_ARG(bool, bias) = true;
  /// Dropout probability on the attention weights, in training mode only. Default: 0.
  ATTENTION_SHARED_ARG(double, dropout) = 0.0;
  /// Mask future keys: each query sees only itself and earlier keys (see CausalAlignment). Default: false.
  ATTENTION_SHARED_ARG(bool, causal) = false;
  /// Return the per-head weights; false skips them (the fast path). Default: true.
  ATTENTION_SHARED_ARG(bool, need_weights) = true;
  /// Attention sinks (gpt-oss): the module registers a learnable parameter `sinks` `[H]`, one extra logit per
  /// query head in each row's softmax whose probability is discarded (AttentionOptions::sinks), initialised to
  /// zeros. Default: false.
  ATTENTION_SHARED_ARG(bool, sinks) = false;
};

#undef ATTENTION_SHARED_ARG

}  // namespace detail

/// Options of MultiHeadAttention. Required: `embed_dim` (width of queries and of the output) and
/// `num_heads`, which must divide `embed_dim`. Optional: num_kv_heads, bias, dropout, causal, need_weights (shared
/// with SelfAttentionOptions, above: also sinks), and kdim, vdim, causal_alignment.
struct ATTENTION_API MultiHeadAttentionOptions : detail::MultiHeadOptionsBase<MultiHeadAttentionOptions> {
  MultiHeadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : MultiHeadOptionsBase(embed_dim, num_heads), kdim_(embed_dim), vdim_(embed_dim) {}
  /// Width of the key input (cross-attention from another width). Default: embed_dim.
  TORCH_ARG(int64_t, kdim);
  /// Width of the value input. Default: embed_dim.
  TORCH_ARG(int64_t, vdim);
  /// Where the causal diagonal sits when Tq != Tk. Default: top-left, as PyTorch.
  TORCH_ARG(CausalAlignment, causal_alignment) = CausalAlignment::TopLeft;
};

/// Multi-head attention: heads computed in one batched pass, no per-head loop. Submodules `W_q`
/// (embed_dim → embed_dim), `W_k` (kdim → Hkv·d), `W_v` (vdim → Hkv·d), `W_o` (embed_dim → embed_dim),
/// all `torch::nn::Linear`, created in that order with LibTorch's default initialisation, then the parameter
/// `sinks` `[H]` (zeros) with options.sinks(true). forward() is multi_head_attention_forward() of these weights: when
/// query, key and value are the same tensor, the three input projections are one matrix product.
///
/// Example:
///   attention::MultiHeadAttention mha(attention::MultiHeadAttentionOptions(64, 8));
///   auto out = mha(x, x, x);  // x [B, T, 64] → out.context [B, T, 64], out.weights [B, 8, T, T]
class ATTENTION_API MultiHeadAttentionImpl : public torch::nn::Cloneable<MultiHeadAttentionImpl> {
 public:
  MultiHeadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiHeadAttentionImpl(MultiHeadAttentionOptions(embed_dim, num_heads)) {}
  explicit MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options);

  /// query `[B, Tq, E]`, key `[B, Tk, kdim]`, value `[B, Tk, vdim]` (or all unbatched) → context `[B, Tq, E]`,
  /// weights per query head `[B, H, Tq, Tk]` (mean: mean_over_heads()). `mask`: bool (true = may attend) or
  /// additive float, broadcastable to `[B, H, Tq, Tk]`; ANDed with the causal mask.
  AttentionOutput forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                          const torch::Tensor& mask = {});

  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  /// Loads like torch::nn::Module::load, but refuses parameters of another shape, naming them.
  void load(torch::serialize::InputArchive& archive) override;

  MultiHeadAttentionOptions options;
  torch::nn::Linear W_q = nullptr;
  torch::nn::Linear W_k = nullptr;
  torch::nn::Linear W_v = nullptr;
  torch::nn::Linear W_o = nullptr;
  /// The attention sinks `[H]` with options.sinks(true); undefined otherwise.
  torch::Tensor sinks;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({3, torch::nn::AnyValue(torch::Tensor())})
};

TORCH_MODULE(MultiHeadAttention);

/// Copies the weights of a LibTorch `torch::nn::MultiheadAttention` into `target`: the packed
/// `in_proj_weight`/`in_proj_bias` (or the separate q/k/v projection weights when kdim/vdim differ) are split
/// into W_q, W_k, W_v, and `out_proj` becomes W_o. Throws c10::Error if the sizes or bias settings differ, or
/// if `source` uses add_bias_kv / add_zero_attn, which have no counterpart here.
/// Remember that source's masks use the opposite convention (true = blocked).
ATTENTION_API void import_weights(MultiHeadAttentionImpl& target, const torch::nn::MultiheadAttentionImpl& source);

/// Options of SelfAttention: those of MultiHeadAttention with query = key = value (embed_dim, num_heads,
/// num_kv_heads, bias, dropout, causal, need_weights, sinks), rotary positions and QK-norm.
struct ATTENTION_API SelfAttentionOptions : detail::MultiHeadOptionsBase<SelfAttentionOptions> {
  SelfAttentionOptions(int64_t embed_dim, int64_t num_heads) : MultiHeadOptionsBase(embed_dim, num_heads) {}
  /// Rotate the queries and keys of each head by their positions (rotary_embedding(), rotate-half convention);
  /// the head width must be even. With a cache, positions continue from cache.size(). Default: false.
  TORCH_ARG(bool, rope) = false;
  /// The base of the rotary frequencies. Default: 10000.
  TORCH_ARG(double, rope_base) = 10000.0;
  /// QK-norm (Qwen3, OLMo 2, Gemma 3): set, each head's queries and keys are RMS-normalised (rms_norm()) with this
  /// epsilon (> 0) by the submodules `q_norm` and `k_norm`, RMSNorms of the head width d, before rope and before the
  /// keys are cached. Unset (the default): none.
  TORCH_ARG(std::optional<double>, qk_norm) = std::nullopt;
  /// Sliding window (AttentionOptions::window()): each token attends only the keys at most `window` positions
  /// before it (with causal; on both sides without). Unset (the default): every key.
  TORCH_ARG(std::optional<int64_t>, window) = std::nullopt;
};

/// Multi-head self-attention of x over itself: a MultiHeadAttention whose query, key and value are x, with
/// the three input projections fused into one matrix product, optional rotary positions, and generation with a
/// key/value cache. Submodules `W_q`, `W_k`, `W_v`, `W_o` as in MultiHeadAttention, so weights move between the
/// two by name, then with options.qk_norm the RMSNorms `q_norm` and `k_norm` (parameters `q_norm.weight`,
/// `k_norm.weight` `[d]`, as Hugging Face's Qwen3 names them within its attention), and with options.sinks the
/// parameter `sinks` `[H]`; forward() is multi_head_attention_forward() of these weights.
///
/// Example:
///   attention::SelfAttention self(attention::SelfAttentionOptions(64, 8).causal(true));
///   auto out = self(x);  // x [B, T, 64] → out.context [B, T, 64], out.weights [B, 8, T, T]
class ATTENTION_API SelfAttentionImpl : public torch::nn::Cloneable<SelfAttentionImpl> {
 public:
  SelfAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : SelfAttentionImpl(SelfAttentionOptions(embed_dim, num_heads)) {}
  explicit SelfAttentionImpl(const SelfAttentionOptions& options);

  /// x `[B, T, E]` or `[T, E]` → context of the same shape, weights `[B, H, T, T]`.
  /// `mask`: bool (true = may attend) or additive float, broadcastable to `[B, H, T, T]`.
  AttentionOutput forward(const torch::Tensor& x, const torch::Tensor& mask = {});

  /// Generation: the new tokens x_new `[B, T_new, E]` (or `[T_new, E]`) attend to the `cache`d tokens and to
  /// themselves (bottom-right causal when the module is causal, otherwise to all of them), and their keys and
  /// values are appended to the cache. `mask` broadcasts to `[B, H, T_new, T_cached + T_new]`. Returns the new
  /// tokens' context and weights `[B, H, T_new, T_cached + T_new]`. Decoding token by token equals the causal
  /// forward() of the whole sequence; each step costs O(T_cached), not O(T²).
  AttentionOutput forward_cached(const torch::Tensor& x_new, KVCache& cache, const torch::Tensor& mask = {});

  /// Decoding a ragged batch: `x` `[T_new, E]` holds the new tokens of the sequences `ids` of `cache`, packed in
  /// that order, new_tokens[i] rows for ids[i]. Their keys and values are appended to their own sequences, and each
  /// attends its own sequence's cached tokens and itself (bottom-right causal when the module is causal; rotary
  /// positions continue from cache.length(id)). Returns the context `[T_new, E]` (no weights). Equals
  /// forward_cached() of each sequence alone. Needs torch::NoGradGuard; with a window cache, a module window no
  /// wider than the cache's.
  AttentionOutput forward_paged(const torch::Tensor& x, PagedKVCache& cache, const std::vector<int64_t>& ids,
                                const std::vector<int64_t>& new_tokens);

  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  /// Loads like torch::nn::Module::load, but refuses parameters of another shape, naming them.
  void load(torch::serialize::InputArchive& archive) override;

  SelfAttentionOptions options;
  torch::nn::Linear W_q = nullptr;
  torch::nn::Linear W_k = nullptr;
  torch::nn::Linear W_v = nullptr;
  torch::nn::Linear W_o = nullptr;
  /// The QK-norm of the queries and keys with options.qk_norm; empty (nullptr) otherwise.
  RMSNorm q_norm = nullptr;
  RMSNorm k_norm = nullptr;
  /// The attention sinks `[H]` with options.sinks(true); undefined otherwise.
  torch::Tensor sinks;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})

 private:
  /// forward() without a cache, forward_cached() with one.
  AttentionOutput attend_to_self(const torch::Tensor& x, const torch::Tensor& mask, KVCache* cache);
  /// multi_head_attention_forward()'s options for this module's weights and settings, with `mask`.
  MultiHeadAttentionForwardOptions settings(const torch::Tensor& mask) const;
};

TORCH_MODULE(SelfAttention);

}  // namespace attention
