// import_weights: the weights of LibTorch's own torch::nn::MultiheadAttention into a MultiHeadAttention.
#include <attention/multi_head_attention.h>

#include <torch/torch.h>

namespace attention {

void import_weights(MultiHeadAttentionImpl& target, const torch::nn::MultiheadAttentionImpl& source) {
  constexpr const char* where = "import_weights";
  const auto& theirs = source.options;
  const auto& ours = target.options;
  TORCH_CHECK(theirs.embed_dim() == ours.embed_dim() && theirs.num_heads() == ours.num_heads() &&
                  theirs.kdim() == ours.kdim() && theirs.vdim() == ours.vdim(),
              where, ": sizes differ: source has embed_dim=", theirs.embed_dim(), ", num_heads=", theirs.num_heads(),
              ", kdim=", theirs.kdim(), ", vdim=", theirs.vdim(), "; target has embed_dim=", ours.embed_dim(),
              ", num_heads=", ours.num_heads(), ", kdim=", ours.kdim(), ", vdim=", ours.vdim());
  TORCH_CHECK(theirs.bias() == ours.bias(), where, ": source has bias=", theirs.bias(),
              " but target has bias=", ours.bias());
  TORCH_CHECK(!theirs.add_bias_kv() && !theirs.add_zero_attn(), where,
              ": add_bias_kv and add_zero_attn have no counterpart in attention::MultiHeadAttention");
  TORCH_CHECK(ours.num_kv_heads() == ours.num_heads(), where,
              ": the target has grouped key/value heads (num_kv_heads=", ours.num_kv_heads(),
              ", num_heads=", ours.num_heads(), "); torch::nn::MultiheadAttention has none");
  torch::NoGradGuard no_grad;
  const auto E = ours.embed_dim();
  if (source._qkv_same_embed_dim) {
    const auto packed = source.in_proj_weight.split(E);  // [3E, E] → 3 x [E, E]
    target.W_q->weight.copy_(packed[0]);
    target.W_k->weight.copy_(packed[1]);
    target.W_v->weight.copy_(packed[2]);
  } else {
    target.W_q->weight.copy_(source.q_proj_weight);
    target.W_k->weight.copy_(source.k_proj_weight);
    target.W_v->weight.copy_(source.v_proj_weight);
  }
  target.W_o->weight.copy_(source.out_proj->weight);
  if (ours.bias()) {
    const auto packed = source.in_proj_bias.split(E);  // [3E] → 3 x [E]
    target.W_q->bias.copy_(packed[0]);
    target.W_k->bias.copy_(packed[1]);
    target.W_v->bias.copy_(packed[2]);
    target.W_o->bias.copy_(source.out_proj->bias);
  }
}

}  // namespace attention
