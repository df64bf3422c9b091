// RMSNorm: root-mean-square normalisation of the last dimension with a learnable scale (Hugging Face's LlamaRMSNorm).
#include <attention/rms_norm.h>

#include "../validation.h"
#include "checked_load.h"

#include <torch/torch.h>

namespace attention {
namespace {

torch::Tensor rms_norm_unchecked(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  // float16 and bfloat16 are normalised in float32 and rounded back before the weight scales them, as
  // LlamaRMSNorm: `weight * (x_f32 * rsqrt(mean(x_f32², -1) + eps)).to(x.dtype)`.
  const bool half = x.scalar_type() == torch::kHalf || x.scalar_type() == torch::kBFloat16;
  const auto wide = half ? x.to(torch::kFloat) : x;
  const auto normalised = wide * torch::rsqrt(wide.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normalised.to(x.scalar_type());
}

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  detail::check_rms_norm(x, weight, eps, "rms_norm");
  return rms_norm_unchecked(x, weight, eps);
}

RMSNormImpl::RMSNormImpl(const RMSNormOptions& options_) : options(options_) { reset(); }

void RMSNormImpl::reset() {
  detail::check_positive(options.dim(), "RMSNorm", "dim");
  TORCH_CHECK(options.eps() > 0, "RMSNorm: eps must be > 0, got ", options.eps());
  weight = register_parameter("weight", torch::ones({options.dim()}));
}

void RMSNormImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  weight.fill_(1.0);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  detail::check_rms_norm(x, weight, options.eps(), "RMSNorm");
  return rms_norm_unchecked(x, weight, options.eps());
}

void RMSNormImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::RMSNorm(dim=" << options.dim() << ", eps=" << options.eps() << ")";
}

void RMSNormImpl::load(torch::serialize::InputArchive& archive) { detail::load_checked(*this, archive); }

}  // namespace attention
