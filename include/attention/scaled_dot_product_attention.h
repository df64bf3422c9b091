#pragma once
/// \file
/// ScaledDotProductAttention: single-head attention with learnable W_q, W_k, W_v.

#include <attention/export.h>
#include <attention/functional.h>

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace attention {

/// Options of ScaledDotProductAttention. Required: the input width `d_in` and the projected width `d_out`.
struct ATTENTION_API ScaledDotProductAttentionOptions {
  ScaledDotProductAttentionOptions(int64_t d_in, int64_t d_out) : d_in_(d_in), d_out_(d_out) {}
  /// Width of the query, key and value inputs.
  TORCH_ARG(int64_t, d_in);
  /// Width of the projected queries, keys and values (and of the context).
  TORCH_ARG(int64_t, d_out);
  /// Add a bias to W_q, W_k, W_v. Default: false (the tutorial's `nn.Linear(d_in, d_out, bias=False)`).
  TORCH_ARG(bool, bias) = false;
  /// Mask future keys (see CausalAlignment). Default: false.
  TORCH_ARG(bool, causal) = false;
  /// Where the causal diagonal sits when Tq != Tk. Default: top-left.
  TORCH_ARG(CausalAlignment, causal_alignment) = CausalAlignment::TopLeft;
  /// Dropout probability on the attention weights, in training mode only. Default: 0.
  TORCH_ARG(double, dropout) = 0.0;
  /// Return the weights; false skips them (the fast path). Default: true.
  TORCH_ARG(bool, need_weights) = true;
};

/// Single-head scaled dot-product attention with learnable projections, submodules `W_q`, `W_k`, `W_v`
/// (`torch::nn::Linear(d_in, d_out)`, created in that order with LibTorch's default initialisation, so
/// `torch::manual_seed(s)` then construction reproduces PyTorch's `torch.manual_seed(s)` followed by three
/// `nn.Linear(d_in, d_out, bias=False)`).
///
/// Example:
///   attention::ScaledDotProductAttention sdpa(attention::ScaledDotProductAttentionOptions(3, 2));
///   auto out = sdpa(x, x, x);  // x [6, 3] → out.context [6, 2], out.weights [6, 6]
class ATTENTION_API ScaledDotProductAttentionImpl : public torch::nn::Cloneable<ScaledDotProductAttentionImpl> {
 public:
  ScaledDotProductAttentionImpl(int64_t d_in, int64_t d_out)
      : ScaledDotProductAttentionImpl(ScaledDotProductAttentionOptions(d_in, d_out)) {}
  explicit ScaledDotProductAttentionImpl(const ScaledDotProductAttentionOptions& options);

  /// query `[B, Tq, d_in]`, key and value `[B, Tk, d_in]` (or all unbatched, without B) → context
  /// `[B, Tq, d_out]`, weights `[B, Tq, Tk]`. `mask`: bool (true = may attend) or additive float,
  /// broadcastable to `[B, 1, Tq, Tk]`; ANDed with the causal mask when `causal` is set.
  AttentionOutput forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                          const torch::Tensor& mask = {});

  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  /// Loads like torch::nn::Module::load, but refuses parameters of another shape, naming them.
  void load(torch::serialize::InputArchive& archive) override;

  ScaledDotProductAttentionOptions options;
  torch::nn::Linear W_q = nullptr;
  torch::nn::Linear W_k = nullptr;
  torch::nn::Linear W_v = nullptr;

 protected:
  FORWARD_HAS_DEFAULT_ARGS({3, torch::nn::AnyValue(torch::Tensor())})
};

TORCH_MODULE(ScaledDotProductAttention);

}  // namespace attention
