// attention::linear: torch::linear, with a single row on the CPU as a matrix-vector product.
#include <attention/functional.h>

#include <ATen/ops/addmv.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/mv.h>

namespace attention {

torch::Tensor linear(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias) {
  const auto dtype = input.scalar_type();
  const bool one_row = input.is_cpu() && input.dim() >= 1 && input.numel() > 0 && input.numel() == input.size(-1) &&
                       (dtype == torch::kFloat || dtype == torch::kDouble) && weight.dim() == 2 &&
                       weight.scalar_type() == dtype && weight.size(1) == input.size(-1) &&
                       (!bias.defined() || (bias.dim() == 1 && bias.scalar_type() == dtype));
  if (!one_row) {
    return at::linear(input, weight, bias);
  }
  auto shape = input.sizes().vec();
  shape.back() = weight.size(0);
  const auto row = input.reshape({-1});
  return (bias.defined() ? at::addmv(bias, weight, row) : at::mv(weight, row)).view(shape);
}

}  // namespace attention
