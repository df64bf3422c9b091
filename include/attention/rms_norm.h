#pragma once
/// \file
/// RMSNorm: root-mean-square normalisation of the last dimension with a learnable scale, as Hugging Face's
/// LlamaRMSNorm and Qwen3RMSNorm compute it (the QK-norm of Qwen3, OLMo 2 and Gemma 3 applies it to each head's
/// queries and keys: SelfAttentionOptions::qk_norm).

#include <attention/export.h>

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <ostream>

namespace attention {

/// weight · (x / sqrt(mean(x², -1) + eps)): x `[..., dim]`, weight `[dim]` of x's dtype and device → `[..., dim]`
/// of x's dtype. For float16 and bfloat16 inputs the normalisation is computed in float32 and rounded to x's dtype
/// before the weight multiplies it (as Hugging Face's LlamaRMSNorm); float32 and float64 are computed as they are.
/// Differentiable. eps > 0.
/// Throws c10::Error naming the shapes when x's last dimension is not weight's size, and for dtype or device
/// mismatches.
ATTENTION_API torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps = 1e-6);

/// Options of RMSNorm. Required: the width `dim` of the normalised last dimension.
struct ATTENTION_API RMSNormOptions {
  /* implicit */ RMSNormOptions(int64_t dim) : dim_(dim) {}  // NOLINT(google-explicit-constructor)
  /// Width of the last dimension of the input, and the size of `weight`.
  TORCH_ARG(int64_t, dim);
  /// Added to the mean square before the square root, > 0. Default: 1e-6.
  TORCH_ARG(double, eps) = 1e-6;
};

/// RMS normalisation of the last dimension (rms_norm()) with a learnable parameter `weight` `[dim]`, initialised to
/// ones, so its state matches Hugging Face's `*RMSNorm` modules by name.
///
/// Example:
///   attention::RMSNorm norm(attention::RMSNormOptions(64).eps(1e-5));
///   auto y = norm(x);  // x [B, T, 64] → y [B, T, 64]
class ATTENTION_API RMSNormImpl : public torch::nn::Cloneable<RMSNormImpl> {
 public:
  explicit RMSNormImpl(int64_t dim) : RMSNormImpl(RMSNormOptions(dim)) {}
  explicit RMSNormImpl(const RMSNormOptions& options);

  /// x `[..., dim]` → `[..., dim]`, x's dtype.
  torch::Tensor forward(const torch::Tensor& x);

  void reset() override;
  /// `weight` back to ones.
  void reset_parameters();
  void pretty_print(std::ostream& stream) const override;
  /// Loads like torch::nn::Module::load, but refuses parameters of another shape, naming them.
  void load(torch::serialize::InputArchive& archive) override;

  RMSNormOptions options;
  /// The scale `[dim]`.
  torch::Tensor weight;
};

TORCH_MODULE(RMSNorm);

}  // namespace attention
