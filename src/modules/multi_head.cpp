#include "multi_head.h"

#include "../paths/paths.h"
#include "../validation.h"

#include <torch/torch.h>

namespace attention::detail {

HeadSizes head_sizes(int64_t embed_dim, int64_t num_heads, int64_t num_kv_heads, const char* where) {
  check_positive(embed_dim, where, "embed_dim");
  check_positive(num_heads, where, "num_heads");
  check_positive(num_kv_heads, where, "num_kv_heads");
  TORCH_CHECK(embed_dim % num_heads == 0, where, ": embed_dim (", embed_dim, ") must be divisible by num_heads (",
              num_heads, ")");
  TORCH_CHECK(num_heads % num_kv_heads == 0, where, ": num_kv_heads (", num_kv_heads, ") must divide num_heads (",
              num_heads,
              "): each key/value head serves num_heads / num_kv_heads "
              "query heads");
  return {num_heads, num_kv_heads, embed_dim / num_heads};
}

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

AttentionOptions module_attention_options(const torch::Tensor& mask, bool causal, CausalAlignment alignment,
                                          double dropout, bool training, bool need_weights) {
  return AttentionOptions()
      .mask(mask)
      .causal(causal)
      .causal_alignment(alignment)
      .dropout(dropout)
      .training(training)
      .need_weights(need_weights);
}

std::array<torch::Tensor, 3> project_self(const torch::Tensor& x, const torch::nn::Linear& W_q,
                                          const torch::nn::Linear& W_k, const torch::nn::Linear& W_v) {
  const bool bias = W_q->bias.defined();
  const auto packed = torch::linear(x, torch::cat({W_q->weight, W_k->weight, W_v->weight}),
                                    bias ? torch::cat({W_q->bias, W_k->bias, W_v->bias}) : torch::Tensor());
  const auto parts = packed.split_with_sizes({W_q->weight.size(0), W_k->weight.size(0), W_v->weight.size(0)}, -1);
  return {parts[0], parts[1], parts[2]};
}

torch::Tensor split_heads(const torch::Tensor& x, int64_t heads) {
  const auto B = x.size(0), T = x.size(1);
  return x.view({B, T, heads, x.size(2) / heads}).transpose(1, 2);  // [B, n, T, d]
}

AttentionOutput attend_heads(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             torch::nn::Linear W_o, AttentionOptions options, const char* where) {
  auto heads = attend(q, k, v, options.enable_gqa(k.size(1) != q.size(1)), where);
  const auto B = q.size(0), Tq = q.size(2);
  const auto merged = heads.context.transpose(1, 2).reshape({B, Tq, -1});  // [B, Tq, H·d]
  return {W_o(merged), heads.weights};
}

torch::Tensor with_batch(const torch::Tensor& x, bool unbatched) { return unbatched ? x.unsqueeze(0) : x; }

AttentionOutput without_batch(AttentionOutput out, bool unbatched) {
  if (unbatched) {
    out.context = out.context.squeeze(0);
    if (out.weights.defined()) {
      out.weights = out.weights.squeeze(0);
    }
  }
  return out;
}

}  // namespace attention::detail
