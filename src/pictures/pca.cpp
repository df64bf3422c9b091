#include "pca.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace attention::pictures::detail {

Projection principal_components(const at::Tensor& x) {
  const auto dims = x.size(1);
  const auto centred = x - x.mean(0, true);
  // at::linalg_svd rather than torch::linalg::svd: LibTorch 2.x ships no torch/linalg.h.
  const auto decomposition = at::linalg_svd(centred, /*full_matrices=*/false);
  const auto& s = std::get<1>(decomposition);
  const auto& vh = std::get<2>(decomposition);
  auto components = at::zeros({2, dims}, x.options());
  const auto available = std::min<int64_t>(2, vh.size(0));
  components.slice(0, 0, available).copy_(vh.slice(0, 0, available));
  for (int64_t k = 0; k < available; ++k) {  // deterministic signs: the largest coordinate positive
    const auto row = components[k];
    if (row[row.abs().argmax()].item<double>() < 0) {
      row.neg_();
    }
  }
  Projection projection;
  projection.points = at::matmul(centred, components.t());
  const auto variance = s.pow(2);
  const double total = variance.sum().item<double>();
  for (int64_t k = 0; k < 2; ++k) {
    projection.shares[static_cast<size_t>(k)] =
        k < variance.size(0) && total > 0 ? variance[k].item<double>() / total : 0.0;
  }
  return projection;
}

}  // namespace attention::pictures::detail
