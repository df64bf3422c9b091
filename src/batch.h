#pragma once
// Unbatched inputs `[T, E]` as a batch of one, and results back to the caller's form. Internal; not installed.

#include <attention/functional.h>

namespace attention::detail {

/// `[T, E]` → `[1, T, E]` when `unbatched`; x itself otherwise.
inline torch::Tensor with_batch(const torch::Tensor& x, bool unbatched) { return unbatched ? x.unsqueeze(0) : x; }

/// The context, weights and lse (when defined) without their batch of one when `unbatched`; `out` itself otherwise.
inline AttentionOutput without_batch(AttentionOutput out, bool unbatched) {
  if (unbatched) {
    for (auto* result : {&out.context, &out.weights, &out.lse}) {
      if (result->defined()) {
        *result = result->squeeze(0);
      }
    }
  }
  return out;
}

}  // namespace attention::detail
