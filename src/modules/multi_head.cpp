#include "multi_head.h"

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

}  // namespace attention::detail
