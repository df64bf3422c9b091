#pragma once
/// \file
/// SimpleAttention: attention with no trainable weights, scored by the similarity of the inputs.

#include <attention/export.h>
#include <attention/functional.h>

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace attention {

/// Non-trainable self-attention: weights = softmax(x xᵀ), context = weights · x. It can only follow the
/// similarity of the fixed input vectors, which is what the trainable modules improve on.
///
/// Example:
///   attention::SimpleAttention simple;
///   auto out = simple(embeddings);  // embeddings [T, E] → out.context [T, E], out.weights [T, T]
class ATTENTION_API SimpleAttentionImpl : public torch::nn::Cloneable<SimpleAttentionImpl> {
 public:
  SimpleAttentionImpl() = default;

  /// x `[B, T, E]` or `[T, E]` → context of the same shape, weights `[B, T, T]` (or `[T, T]`).
  AttentionOutput forward(const torch::Tensor& x);

  void reset() override {}
  void pretty_print(std::ostream& stream) const override;
};

TORCH_MODULE(SimpleAttention);

}  // namespace attention
