// MultiHeadAttention: self- or cross-attention with W_q, W_k, W_v, W_o, and grouped key/value heads.
#include <attention/multi_head_attention.h>

#include "../multi_head_forward.h"
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
  return detail::multi_head_forward(query, key, value, detail::forward_options(*this, mask, options.causal_alignment()),
                                    "MultiHeadAttention");
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
         << ", dropout=" << options.dropout();
  if (options.sinks()) {
    stream << ", sinks=true";
  }
  stream << ")";
}

void MultiHeadAttentionImpl::load(torch::serialize::InputArchive& archive) { detail::load_checked(*this, archive); }

}  // namespace attention
