// The public free functions of the functional API: each checks its inputs and hands them to the dispatcher
// (paths/dispatch.cpp), which picks the path that computes them.
#include <attention/functional.h>

#include "paths/paths.h"
#include "validation.h"

#include <torch/torch.h>

namespace attention {

AttentionOutput scaled_dot_product_attention(const torch::Tensor& query, const torch::Tensor& key,
                                             const torch::Tensor& value, const AttentionOptions& options) {
  constexpr const char* where = "scaled_dot_product_attention";
  detail::check_attention_inputs(query, key, value, options.enable_gqa(), where);
  return detail::attend(query, key, value, options, where);
}

AttentionPath chosen_path(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                          const AttentionOptions& options) {
  constexpr const char* where = "chosen_path";
  detail::check_attention_inputs(query, key, value, options.enable_gqa(), where);
  detail::check_attention_options(query, key, options, where);
  return detail::choose_path(detail::make_plan(query, key, value, options), options);
}

AttentionOutput simple_attention(const torch::Tensor& inputs) { return simple_attention(inputs, inputs); }

AttentionOutput simple_attention(const torch::Tensor& query, const torch::Tensor& inputs) {
  constexpr const char* where = "simple_attention";
  detail::check_floating(query, where, "query");
  detail::check_floating(inputs, where, "inputs");
  const auto width = inputs.size(-1);
  detail::check_module_inputs(query, inputs, inputs, width, width, width, where);
  // Plain dot products: no projection, no 1/sqrt(d) scaling.
  return detail::attend(query, inputs, inputs, AttentionOptions().scale(1.0), where);
}

void set_num_threads(int n) {
  TORCH_CHECK(n >= 1, "set_num_threads: need at least 1 thread, got ", n);
  torch::set_num_threads(n);
}

torch::Tensor mean_over_heads(const torch::Tensor& per_head_weights) {
  TORCH_CHECK(per_head_weights.defined() && per_head_weights.dim() >= 3,
              "mean_over_heads: expected weights [B, H, Tq, Tk] or [H, Tq, Tk], got ",
              per_head_weights.defined() ? per_head_weights.sizes() : torch::IntArrayRef{},
              " (were the weights requested? need_weights(false) leaves them undefined)");
  return per_head_weights.mean(-3);
}

}  // namespace attention
