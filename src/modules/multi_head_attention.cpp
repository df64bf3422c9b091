// MultiHeadAttention: self- or cross-attention with W_q, W_k, W_v, W_o, and grouped key/value heads.
#include <attention/multi_head_attention.h>

#include "../validation.h"
#include "checked_load.h"
#include "multi_head.h"

#include <torch/torch.h>

namespace attention {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options_) : options(options_) {
  reset();
}

void MultiHeadAttentionImpl::reset() {
  detail::register_projections(*this, options.kdim(), options.vdim(), "MultiHeadAttention");
}

void MultiHeadAttentionImpl::reset_parameters() { detail::reset_projection_parameters(*this); }

AttentionOutput MultiHeadAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                const torch::Tensor& value, const torch::Tensor& mask) {
  constexpr const char* where = "MultiHeadAttention";
  detail::check_module_inputs(query, key, value, options.embed_dim(), options.kdim(), options.vdim(), where);
  const bool unbatched = query.dim() == 2;
  torch::Tensor q, k, v;                           // [B, T, H·d], [B, Tk, Hkv·d] x 2
  if (query.is_same(key) && key.is_same(value)) {  // self-attention: one product for the three projections
    const auto qkv = detail::project_self(detail::with_batch(query, unbatched), W_q, W_k, W_v);
    q = qkv[0], k = qkv[1], v = qkv[2];
  } else {
    q = W_q(detail::with_batch(query, unbatched));
    k = W_k(detail::with_batch(key, unbatched));
    v = W_v(detail::with_batch(value, unbatched));
  }
  const auto kv_heads = options.num_kv_heads();
  auto out =
      detail::attend_heads(detail::split_heads(q, options.num_heads()), detail::split_heads(k, kv_heads),
                           detail::split_heads(v, kv_heads), W_o,
                           detail::module_attention_options(mask, options.causal(), options.causal_alignment(),
                                                            options.dropout(), is_training(), options.need_weights()),
                           where);
  return detail::without_batch(out, unbatched);
}

void MultiHeadAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::MultiHeadAttention(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads();
  if (options.num_kv_heads() != options.num_heads()) {
    stream << ", num_kv_heads=" << options.num_kv_heads();
  }
  if (options.kdim() != options.embed_dim() || options.vdim() != options.embed_dim()) {
    stream << ", kdim=" << options.kdim() << ", vdim=" << options.vdim();
  }
  stream << ", bias=" << std::boolalpha << options.bias() << ", causal=" << options.causal()
         << ", dropout=" << options.dropout() << ")";
}

void MultiHeadAttentionImpl::load(torch::serialize::InputArchive& archive) { detail::load_checked(*this, archive); }

}  // namespace attention
