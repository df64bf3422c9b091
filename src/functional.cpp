#include <attention/functional.h>

#include "detail.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

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

torch::Tensor causal_mask(int64_t query_len, int64_t key_len, torch::Device device, CausalAlignment alignment) {
  TORCH_CHECK(query_len >= 0 && key_len >= 0, "causal_mask: lengths must be >= 0, got query_len=", query_len,
              ", key_len=", key_len);
  const int64_t diagonal = alignment == CausalAlignment::TopLeft ? 0 : key_len - query_len;
  return torch::ones({query_len, key_len}, torch::TensorOptions(torch::kBool).device(device)).tril(diagonal);
}

torch::Tensor local_mask(int64_t query_len, int64_t key_len, int64_t window, torch::Device device) {
  TORCH_CHECK(query_len >= 0 && key_len >= 0, "local_mask: lengths must be >= 0, got query_len=", query_len,
              ", key_len=", key_len);
  TORCH_CHECK(window >= 0, "local_mask: window must be >= 0, got ", window);
  const auto options = torch::TensorOptions(torch::kLong).device(device);
  const auto query_pos = torch::arange(query_len, options).unsqueeze(1);  // [Tq, 1]
  const auto key_pos = torch::arange(key_len, options).unsqueeze(0);      // [1, Tk]
  return (query_pos - key_pos).abs() <= window;                            // [Tq, Tk]
}

torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t key_len) {
  TORCH_CHECK(lengths.defined() && lengths.dim() == 1, "padding_mask: lengths must be a 1-d tensor [B], got ",
              lengths.defined() ? lengths.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(!lengths.is_floating_point() && !lengths.is_complex() && lengths.scalar_type() != torch::kBool,
              "padding_mask: lengths must be integers, got ", lengths.scalar_type());
  TORCH_CHECK(key_len >= 0, "padding_mask: key_len must be >= 0, got ", key_len);
  if (lengths.numel() > 0) {
    const auto shortest = lengths.min().item<int64_t>();
    const auto longest = lengths.max().item<int64_t>();
    TORCH_CHECK(shortest >= 0 && longest <= key_len, "padding_mask: lengths must lie in [0, key_len=", key_len,
                "], got values from ", shortest, " to ", longest);
  }
  const auto key_pos = torch::arange(key_len, lengths.options().dtype(torch::kLong)).unsqueeze(0);  // [1, Tk]
  const auto batch = lengths.size(0);
  return (key_pos < lengths.to(torch::kLong).unsqueeze(1)).view({batch, 1, 1, key_len});  // [B, 1, 1, Tk]
}

AttentionOutput scaled_dot_product_attention(const torch::Tensor& query, const torch::Tensor& key,
                                             const torch::Tensor& value, const AttentionOptions& options) {
  constexpr const char* where = "scaled_dot_product_attention";
  detail::check_attention_inputs(query, key, value, where);
  detail::check_dropout(options.dropout(), where);
  return detail::attend(query, key, value, options, where);
}

AttentionOutput simple_attention(const torch::Tensor& inputs) {
  return simple_attention(inputs, inputs);
}

AttentionOutput simple_attention(const torch::Tensor& query, const torch::Tensor& inputs) {
  constexpr const char* where = "simple_attention";
  detail::check_floating(query, where, "query");
  detail::check_floating(inputs, where, "inputs");
  const auto width = inputs.size(-1);
  detail::check_module_inputs(query, inputs, inputs, width, width, width, where);
  // Plain dot products: no projection, no 1/sqrt(d) scaling.
  return detail::attend(query, inputs, inputs, AttentionOptions().scale(1.0), where);
}

AttentionPath chosen_path(int64_t query_len, int64_t key_len, const AttentionOptions& options) {
  const bool dropout_active = options.training() && options.dropout() > 0;
  if (options.path() == AttentionPath::Tiled) {
    TORCH_CHECK(!options.need_weights() && !dropout_active,
                "the tiled attention path never forms the weights: it needs need_weights(false) and no dropout");
    return AttentionPath::Tiled;
  }
  const bool tiled = options.path() == AttentionPath::Auto && !options.need_weights() && !dropout_active &&
                     query_len * key_len >= kTiledThreshold;
  return tiled ? AttentionPath::Tiled : AttentionPath::Materialized;
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
