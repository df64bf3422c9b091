// What the log-sum-exp of each row gives beyond the softmax: the accumulator dtype it is kept in, and attention
// sinks, which are a function of it.
#include "paths.h"

#include <torch/torch.h>

namespace attention::detail {

torch::ScalarType accumulator_type(torch::ScalarType dtype) {
  return dtype == torch::kHalf || dtype == torch::kBFloat16 ? torch::kFloat : dtype;
}

void apply_sinks(AttentionOutput& out, const torch::Tensor& sinks) {
  // exp(lse) / (exp(lse) + exp(sink)) = sigmoid(lse - sink); 0 for a row with nothing to attend (lse = -inf).
  const auto kept = torch::sigmoid(out.lse - sinks.to(out.lse.scalar_type())).unsqueeze(-1);
  out.context = out.context * kept.to(out.context.scalar_type());
  if (out.weights.defined()) {
    out.weights = out.weights * kept.to(out.weights.scalar_type());
  }
}

}  // namespace attention::detail
