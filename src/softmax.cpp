// The two softmaxes of the tutorial: the naive one that overflows, and the stable one the paths agree with.
#include <attention/functional.h>

#include "validation.h"

#include <torch/torch.h>

namespace attention {

torch::Tensor softmax_naive(const torch::Tensor& x, int64_t dim) {
  detail::check_floating(x, "softmax_naive", "input");
  const auto exponentials = x.exp();
  return exponentials / exponentials.sum(dim, /*keepdim=*/true);
}

torch::Tensor softmax_stable(const torch::Tensor& x, int64_t dim) {
  detail::check_floating(x, "softmax_stable", "input");
  if (x.numel() == 0) {
    return x.clone();
  }
  // The maximum only shifts the exponent; softmax does not depend on it, so no gradient flows through it.
  auto row_max = x.amax(dim, /*keepdim=*/true).detach();
  // A slice of only -inf (every key masked) has max -inf, and -inf - -inf is NaN: shift by 0 instead.
  row_max = torch::where(torch::isfinite(row_max), row_max, torch::zeros_like(row_max));
  const auto exponentials = (x - row_max).exp();
  const auto sums = exponentials.sum(dim, /*keepdim=*/true);
  // An all -inf slice sums to 0: divide by 1 so it stays 0 (weights and gradients), not NaN.
  return exponentials / torch::where(sums > 0, sums, torch::ones_like(sums));
}

}  // namespace attention
