#pragma once
// The multi-head core that MultiHeadAttention and SelfAttention share: head sizes, their torch::nn::Linear
// projections (registered and reset in one place), the input projections, splitting into heads, attending,
// merging and the output projection. Internal; not installed.

#include <attention/functional.h>

#include "../validation.h"

#include <torch/nn/modules/linear.h>

#include <array>
#include <cstdint>

namespace attention::detail {

/// H query heads and Hkv key/value heads of width d (letters as in functional.h).
struct HeadSizes {
  int64_t heads;
  int64_t kv_heads;
  int64_t head_dim;
};

/// The head sizes of a module of width `embed_dim`; throws, naming the values, unless all are positive,
/// num_heads divides embed_dim and num_kv_heads divides num_heads. The one place these rules are checked.
HeadSizes head_sizes(int64_t embed_dim, int64_t num_heads, int64_t num_kv_heads, const char* where);

/// torch::nn::Linear(in, out) with or without bias, LibTorch's default initialisation.
torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias);

/// The options the modules pass to the functional API, from their own settings and train/eval mode.
AttentionOptions module_attention_options(const torch::Tensor& mask, bool causal, CausalAlignment alignment,
                                          double dropout, bool training, bool need_weights);

/// The structure of a multi-head module (MultiHeadAttentionImpl, SelfAttentionImpl), for its reset(): checks its
/// options, then registers W_q (E → E), W_k (kdim → Hkv·d), W_v (vdim → Hkv·d) and W_o (E → E) in that order.
/// Returns the head sizes.
template <typename Module>
HeadSizes register_projections(Module& module, int64_t kdim, int64_t vdim, const char* where) {
  const auto& options = module.options;
  const auto sizes = head_sizes(options.embed_dim(), options.num_heads(), options.num_kv_heads(), where);
  check_positive(kdim, where, "kdim");
  check_positive(vdim, where, "vdim");
  check_dropout(options.dropout(), where);
  const auto E = options.embed_dim(), kv_width = sizes.kv_heads * sizes.head_dim;
  module.W_q = module.register_module("W_q", make_linear(E, E, options.bias()));
  module.W_k = module.register_module("W_k", make_linear(kdim, kv_width, options.bias()));
  module.W_v = module.register_module("W_v", make_linear(vdim, kv_width, options.bias()));
  module.W_o = module.register_module("W_o", make_linear(E, E, options.bias()));
  return sizes;
}

/// reset_parameters() of a multi-head module: LibTorch's default initialisation of W_q, W_k, W_v, W_o again.
template <typename Module>
void reset_projection_parameters(Module& module) {
  for (auto* linear : {&module.W_q, &module.W_k, &module.W_v, &module.W_o}) {
    (*linear)->reset_parameters();
  }
}

/// The three input projections of x `[B, T, E]` as one matrix product: q `[B, T, H·d]`, k and v `[B, T, Hkv·d]`.
std::array<torch::Tensor, 3> project_self(const torch::Tensor& x, const torch::nn::Linear& W_q,
                                          const torch::nn::Linear& W_k, const torch::nn::Linear& W_v);

/// `[B, T, n·d]` → `[B, n, T, d]` (a view).
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads);

/// Heads q `[B, H, Tq, d]`, k and v `[B, Hkv, Tk, d]` attended (grouped when Hkv < H), merged to
/// `[B, Tq, H·d]` and projected by W_o. Weights `[B, H, Tq, Tk]` when the options ask for them.
AttentionOutput attend_heads(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             torch::nn::Linear W_o, AttentionOptions options, const char* where);

/// Batched `[B, T, E]` inputs from batched or unbatched `[T, E]` ones, and the outputs back to the caller's form.
torch::Tensor with_batch(const torch::Tensor& x, bool unbatched);
AttentionOutput without_batch(AttentionOutput out, bool unbatched);

}  // namespace attention::detail
