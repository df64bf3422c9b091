// multi_head_attention_forward: the projections, the heads, rotary positions and the key/value cache around the
// dispatcher (paths/dispatch.cpp), which attends.
#include "multi_head_forward.h"

#include <attention/kv_cache.h>
#include <attention/positions.h>
#include <attention/rms_norm.h>

#include "batch.h"
#include "paths/paths.h"
#include "validation.h"

#include <torch/torch.h>

#include <array>
#include <vector>

namespace attention {
namespace detail {
namespace {

/// `[B, T, n·d]` → `[B, n, T, d]` (a view).
torch::Tensor split_into_heads(const torch::Tensor& x, int64_t heads) {
  const auto B = x.size(0), T = x.size(1);
  return x.view({B, T, heads, x.size(2) / heads}).transpose(1, 2);
}

/// Positions first, first + 1, ..., first + length - 1 on `device`.
torch::Tensor token_positions(int64_t first, int64_t length, torch::Device device) {
  return torch::arange(first, first + length, torch::TensorOptions(torch::kLong).device(device));
}

/// The three tensors' rows as one tensor: a view when they lie one after another in one storage (a model's packed
/// q, k and v, as load_causal_lm keeps them), so a decoding step copies no weights; their concatenation otherwise.
torch::Tensor stacked_rows(const std::array<torch::Tensor, 3>& parts) {
  bool adjacent = true;
  int64_t rows = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const auto& part = parts[i];
    adjacent = adjacent && part.is_contiguous() && part.is_alias_of(parts[0]) &&
               part.sizes().slice(1) == parts[0].sizes().slice(1) &&
               (i == 0 || part.storage_offset() == parts[i - 1].storage_offset() + parts[i - 1].numel());
    rows += part.size(0);
  }
  if (!adjacent) {
    return torch::cat({parts[0], parts[1], parts[2]});
  }
  auto shape = parts[0].sizes().vec();
  shape[0] = rows;
  return parts[0].as_strided(shape, parts[0].strides(), parts[0].storage_offset());
}

}  // namespace

std::array<torch::Tensor, 3> project_together(const torch::Tensor& x, const MultiHeadAttentionForwardOptions& options) {
  const std::array<torch::Tensor, 3> weights{options.W_q_weight(), options.W_k_weight(), options.W_v_weight()};
  const std::array<torch::Tensor, 3> biases{options.W_q_bias(), options.W_k_bias(), options.W_v_bias()};
  if (x.size(-1) > 0 && x.numel() / x.size(-1) > kPackedProjectionRows) {
    return {attention::linear(x, weights[0], biases[0]), attention::linear(x, weights[1], biases[1]),
            attention::linear(x, weights[2], biases[2])};
  }
  torch::Tensor packed_bias;  // [(H + 2·Hkv)·d] or undefined
  if (biases[0].defined() || biases[1].defined() || biases[2].defined()) {
    std::array<torch::Tensor, 3> parts;
    for (size_t i = 0; i < 3; ++i) {
      parts[i] = biases[i].defined() ? biases[i] : weights[i].new_zeros({weights[i].size(0)});
    }
    packed_bias = stacked_rows(parts);
  }
  const auto packed = attention::linear(x, stacked_rows(weights), packed_bias);
  const auto parts = packed.split_with_sizes({weights[0].size(0), weights[1].size(0), weights[2].size(0)}, -1);
  return {parts[0], parts[1], parts[2]};
}

torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& positions,
                     const MultiHeadAttentionForwardOptions& options) {
  return options.rope_frequencies().defined() ? rotary_embedding(x, positions, options.rope_frequencies())
                                              : rotary_embedding(x, positions, options.rope_base());
}

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
    q = attention::linear(with_batch(query, unbatched), options.W_q_weight(), options.W_q_bias());
    k = attention::linear(with_batch(key, unbatched), options.W_k_weight(), options.W_k_bias());
    v = attention::linear(with_batch(value, unbatched), options.W_v_weight(), options.W_v_bias());
  }
  q = split_into_heads(q, H);    // [B, H, Tq, d]
  k = split_into_heads(k, Hkv);  // [B, Hkv, Tk, d]
  v = split_into_heads(v, Hkv);  // [B, Hkv, Tk, dv]
  // QK-norm: each head's queries and keys, before rope rotates them and before the keys are cached.
  if (options.q_norm_weight().defined()) {
    q = rms_norm(q, options.q_norm_weight(), options.qk_norm_eps());
  }
  if (options.k_norm_weight().defined()) {
    k = rms_norm(k, options.k_norm_weight(), options.qk_norm_eps());
  }
  auto* cache = options.kv_cache();
  const int64_t past = cache != nullptr ? cache->size() : 0;
  if (options.rope()) {
    q = rotate(q, token_positions(past, q.size(2), q.device()), options);
    k = rotate(k, token_positions(past, k.size(2), k.device()), options);
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
  return without_batch({attention::linear(merged, options.W_o_weight(), options.W_o_bias()), heads.weights, heads.lse},
                       unbatched);
}

}  // namespace detail

AttentionOutput multi_head_attention_forward_paged(const torch::Tensor& x, PagedKVCache& cache,
                                                   const std::vector<int64_t>& ids,
                                                   const std::vector<int64_t>& new_tokens,
                                                   const MultiHeadAttentionForwardOptions& options) {
  return detail::paged_self_attention(x, cache, ids, new_tokens, options, "multi_head_attention_forward_paged");
}

AttentionOutput multi_head_attention_forward(const torch::Tensor& query, const torch::Tensor& key,
                                             const torch::Tensor& value,
                                             const MultiHeadAttentionForwardOptions& options) {
  return detail::multi_head_forward(query, key, value, options, "multi_head_attention_forward");
}

}  // namespace attention
