#pragma once
// Internal: principal component analysis, for maps of embeddings wider than two dimensions.

#include <ATen/core/Tensor.h>

#include <array>

namespace attention::pictures::detail {

/// Points on the first two principal components, and the share of the variance each component keeps.
struct Projection {
  at::Tensor points;                   ///< `[N, 2]` float64
  std::array<double, 2> shares{0, 0};  ///< from 0 to 1; 0 for a component that does not exist
};

/// The rows of `x` `[N, D]` (float64, on the CPU), centred, projected on their first two principal components
/// (SVD). Deterministic: each component is signed so that its largest coordinate is positive.
Projection principal_components(const at::Tensor& x);

}  // namespace attention::pictures::detail
