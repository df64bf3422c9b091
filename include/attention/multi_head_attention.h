#pragma once
/// \file
/// MultiHeadAttention (W_q, W_k, W_v, W_o; self- or cross-attention) and SelfAttention.

#include <attention/export.h>
#include <attention/functional.h>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/common.h>
#include <torch/nn/modules/container/any_value.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace attention {

/// Options of MultiHeadAttention. Required: `embed_dim` (width of queries and of the output) and
/// `num_heads`, which must divide `embed_dim`.
struct ATTENTION_API MultiHeadAttentionOptions {
  MultiHeadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads), kdim_(embed_dim), vdim_(embed_dim) {}
  /// Width of the query input, of each projection and of the output.
  TORCH_ARG(int64_t, embed_dim);
  /// Number of heads; each head has width embed_dim / num_heads.
  TORCH_ARG(int64_t, num_heads);
  /// Width of the key input (cross-attention from another width). Default: embed_dim.
  TORCH_ARG(int64_t, kdim);
  /// Width of the value input. Default: embed_dim.
  TORCH_ARG(int64_t, vdim);
  /// Biases in W_q, W_k, W_v, W_o. Default: true (as torch::nn::MultiheadAttention).
  TORCH_ARG(bool, bias) = true;
  /// Dropout probability on the attention weights, in training mode only. Default: 0.
  TORCH_ARG(double, dropout) = 0.0;
  /// Mask future keys (see CausalAlignment). Default: false.
  TORCH_ARG(bool, causal) = false;
  /// Where the causal diagonal sits when Tq != Tk. Default: top-left, as PyTorch.
  TORCH_ARG(CausalAlignment, causal_alignment) = CausalAlignment::TopLeft;
  /// Return the per-head weights; false skips them (the fast path). Default: true.
  TORCH_ARG(bool, need_weights) = true;
};

/// Multi-head attention: heads computed in one batched pass, no per-head loop. Submodules `W_q`
/// (embed_dim → embed_dim), `W_k` (kdim → embed_dim), `W_v` (vdim → embed_dim), `W_o` (embed_dim → embed_dim),
/// all `torch::nn::Linear`, created in that order with LibTorch's default initialisation.
///
/// Example:
///   attention::MultiHeadAttention mha(attention::MultiHeadAttentionOptions(64, 8));
///   auto out = mha(x, x, x);  // x [B, T, 64] → out.context [B, T, 64], out.weights [B, 8, T, T]
class ATTENTION_API MultiHeadAttentionImpl : public torch::nn::Cloneable<MultiHeadAttentionImpl> {
 public:
  MultiHeadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiHeadAttentionImpl(MultiHeadAttentionOptions(embed_dim, num_heads)) {}
  explicit MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options);

  /// query `[B, Tq, embed_dim]`, key `[B, Tk, kdim]`, value `[B, Tk, vdim]` (or all unbatched) → context
  /// `[B, Tq, embed_dim]`, weights per head `[B, H, Tq, Tk]` (mean: mean_over_heads()). `mask`: bool
  /// (true = may attend) or additive float, broadcastable to `[B, H, Tq, Tk]`; ANDed with the causal mask.
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

/// Options of SelfAttention: as MultiHeadAttentionOptions, with query = key = value.
struct ATTENTION_API SelfAttentionOptions {
  SelfAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  /// Width of the input, of each projection and of the output.
  TORCH_ARG(int64_t, embed_dim);
  /// Number of heads; must divide embed_dim.
  TORCH_ARG(int64_t, num_heads);
  /// Biases in W_q, W_k, W_v, W_o. Default: true.
  TORCH_ARG(bool, bias) = true;
  /// Dropout probability on the attention weights, in training mode only. Default: 0.
  TORCH_ARG(double, dropout) = 0.0;
  /// Each token sees only itself and earlier tokens. Default: false.
  TORCH_ARG(bool, causal) = false;
  /// Return the per-head weights; false skips them (the fast path). Default: true.
  TORCH_ARG(bool, need_weights) = true;
};

/// Multi-head self-attention of x over itself: a MultiHeadAttention whose query, key and value are x, with
/// the three input projections fused into one matrix product. Submodules `W_q`, `W_k`, `W_v`, `W_o` as in
/// MultiHeadAttention, so weights move between the two by name.
///
/// Example:
///   attention::SelfAttention self(attention::SelfAttentionOptions(64, 8).causal(true));
///   auto out = self(x);  // x [B, T, 64] → out.context [B, T, 64], out.weights [B, 8, T, T]
class ATTENTION_API SelfAttentionImpl : public torch::nn::Cloneable<SelfAttentionImpl> {
 public:
  SelfAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : SelfAttentionImpl(SelfAttentionOptions(embed_dim, num_heads)) {}
  explicit SelfAttentionImpl(const SelfAttentionOptions& options);

  /// x `[B, T, embed_dim]` or `[T, embed_dim]` → context of the same shape, weights `[B, H, T, T]`.
  /// `mask`: bool (true = may attend) or additive float, broadcastable to `[B, H, T, T]`.
  AttentionOutput forward(const torch::Tensor& x, const torch::Tensor& mask = {});

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

 protected:
  FORWARD_HAS_DEFAULT_ARGS({1, torch::nn::AnyValue(torch::Tensor())})
};

TORCH_MODULE(SelfAttention);

}  // namespace attention
