// multi_head_attention_forward: the projections, the heads, rotary positions and the key/value cache around the
// dispatcher (paths/dispatch.cpp), which attends.
#include "multi_head_forward.h"

#include <attention/kv_cache.h>
#include <attention/positions.h>

#include "batch.h"
#include "paths/paths.h"
#include "validation.h"

#include <torch/torch.h>

#include <array>
#include <vector>

namespace attention {
namespace detail {
namespace {

/// The three input projections of x `[B, T, E]` as one matrix product (self-attention): q `[B, T, H·d]`, k
/// `[B, T, Hkv·d]`, v `[B, T, Hkv·dv]`. A missing bias among several counts as zeros.
std::array<torch::Tensor, 3> project_together(const torch::Tensor& x, const MultiHeadAttentionForwardOptions& options) {
  const std::array<torch::Tensor, 3> weights{options.W_q_weight(), options.W_k_weight(), options.W_v_weight()};
  const std::array<torch::Tensor, 3> biases{options.W_q_bias(), options.W_k_bias(), options.W_v_bias()};
  torch::Tensor packed_bias;  // [(H + 2·Hkv)·d] or undefined
  if (biases[0].defined() || biases[1].defined() || biases[2].defined()) {
    std::vector<torch::Tensor> parts;
    for (size_t i = 0; i < 3; ++i) {
      parts.push_back(biases[i].defined() ? biases[i] : weights[i].new_zeros({weights[i].size(0)}));
    }
    packed_bias = torch::cat(parts);
  }
  const auto packed = torch::linear(x, torch::cat({weights[0], weights[1], weights[2]}), packed_bias);
  const auto parts = packed.split_with_sizes({weights[0].size(0), weights[1].size(0), weights[2].size(0)}, -1);
  return {parts[0], parts[1], parts[2]};
}

/// `[B, T, n·d]` → `[B, n, T, d]` (a view).
torch::Tensor split_into_heads(const torch::Tensor& x, int64_t heads) {
  const auto B = x.size(0), T = x.size(1);
  return x.view({B, T, heads, x.size(2) / heads}).transpose(1, 2);
}

/// Positions first, first + 1, ..., first + length - 1 on `device`.
torch::Tensor token_positions(int64_t first, int64_t length, torch::Device device) {
  return torch::arange(first, first + length, torch::TensorOptions(torch::kLong).device(device));
}

}  // namespace

AttentionOutput multi_head_forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                   const MultiHeadAttentionForwardOptions& options, const char* where) {
  check_multi_head_inputs(query, key, value, options, where);
  const bool unbatched = query.dim() == 2;
  const auto H = options.num_heads(), Hkv = options.num_kv_heads();
  torch::Tensor q, k, v;                           // [B, Tq, H·d], [B, Tk, Hkv·d], [B, Tk, Hkv·dv]
  if (query.is_same(key) && key.is_same(value)) {  // self-attention: one product for the three projections
    const auto qkv = project_together(with_batch(query, unbatched), options);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = torch::linear(with_batch(query, unbatched), options.W_q_weight(), options.W_q_bias());
    k = torch::linear(with_batch(key, unbatched), options.W_k_weight(), options.W_k_bias());
    v = torch::linear(with_batch(value, unbatched), options.W_v_weight(), options.W_v_bias());
  }
  q = split_into_heads(q, H);    // [B, H, Tq, d]
  k = split_into_heads(k, Hkv);  // [B, Hkv, Tk, d]
  v = split_into_heads(v, Hkv);  // [B, Hkv, Tk, dv]
  auto* cache = options.kv_cache();
  const int64_t past = cache != nullptr ? cache->size() : 0;
  if (options.rope()) {
    q = rotary_embedding(q, token_positions(past, q.size(2), q.device()), options.rope_base());
    k = rotary_embedding(k, token_positions(past, k.size(2), k.device()), options.rope_base());
  }
  auto attention_options = AttentionOptions(options.attention_options()).enable_gqa(Hkv != H);
  if (cache != nullptr) {
    cache->append(k, v);
    k = cache->keys();  // [B, Hkv, T_cached + Tk, d]
    v = cache->values();
    attention_options.causal_alignment(CausalAlignment::BottomRight);  // the new queries come after the cached keys
  }
  const auto heads = attend(q, k, v, attention_options, where);  // context [B, H, Tq, dv]
  const auto B = q.size(0), Tq = q.size(2);
  const auto merged = heads.context.transpose(1, 2).reshape({B, Tq, -1});  // [B, Tq, H·dv]
  return without_batch({torch::linear(merged, options.W_o_weight(), options.W_o_bias()), heads.weights, heads.lse},
                       unbatched);
}

}  // namespace detail

AttentionOutput multi_head_attention_forward(const torch::Tensor& query, const torch::Tensor& key,
                                             const torch::Tensor& value,
                                             const MultiHeadAttentionForwardOptions& options) {
  return detail::multi_head_forward(query, key, value, options, "multi_head_attention_forward");
}

}  // namespace attention
