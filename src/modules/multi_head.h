#pragma once
// What the modules share: head sizes, their torch::nn::Linear projections (MultiHeadAttention's and
// SelfAttention's W_q, W_k, W_v, W_o, registered and reset in one place) and the options they hand to the
// functional API. Internal; not installed.

#include <attention/functional.h>

#include "../validation.h"

#include <torch/nn/modules/linear.h>

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
/// options, then registers W_q (E → E), W_k (kdim → Hkv·d), W_v (vdim → Hkv·d) and W_o (E → E) in that order, and
/// with options.sinks() the parameter `sinks` [H] of zeros. Returns the head sizes.
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
  if (options.sinks()) {
    module.sinks = module.register_parameter("sinks", torch::zeros({sizes.heads}));
  }
  return sizes;
}

/// reset_parameters() of a multi-head module: LibTorch's default initialisation of W_q, W_k, W_v, W_o again, and
/// the sinks (when it has them) back to zeros.
template <typename Module>
void reset_projection_parameters(Module& module) {
  for (auto* linear : {&module.W_q, &module.W_k, &module.W_v, &module.W_o}) {
    (*linear)->reset_parameters();
  }
  if (module.sinks.defined()) {
    torch::NoGradGuard no_grad;
    module.sinks.zero_();
  }
}

/// multi_head_attention_forward()'s options for a multi-head module: its weights and biases, head counts and
/// attention settings (its sinks among them, undefined without), with `mask` and `alignment`, and dropout active in
/// training mode.
template <typename Module>
MultiHeadAttentionForwardOptions forward_options(const Module& module, const torch::Tensor& mask,
                                                 CausalAlignment alignment) {
  const auto& options = module.options;
  return MultiHeadAttentionForwardOptions(options.num_heads(), module.W_q->weight, module.W_k->weight,
                                          module.W_v->weight, module.W_o->weight)
      .num_kv_heads(options.num_kv_heads())
      .W_q_bias(module.W_q->bias)  // undefined without bias
      .W_k_bias(module.W_k->bias)
      .W_v_bias(module.W_v->bias)
      .W_o_bias(module.W_o->bias)
      .attention_options(module_attention_options(mask, options.causal(), alignment, options.dropout(),
                                                  module.is_training(), options.need_weights())
                             .sinks(module.sinks));
}

}  // namespace attention::detail
