// SelfAttention: multi-head attention of x over itself, with rotary positions and a key/value cache.
#include <attention/multi_head_attention.h>
#include <attention/positions.h>

#include "../validation.h"
#include "checked_load.h"
#include "multi_head.h"

#include <torch/torch.h>

namespace attention {
namespace {

constexpr const char* kWhere = "SelfAttention";

}  // namespace

SelfAttentionImpl::SelfAttentionImpl(const SelfAttentionOptions& options_) : options(options_) { reset(); }

void SelfAttentionImpl::reset() {
  const auto E = options.embed_dim();
  const auto sizes = detail::register_projections(*this, E, E, kWhere);
  TORCH_CHECK(!options.rope() || sizes.head_dim % 2 == 0, kWhere, ": rope needs an even head width, got ",
              sizes.head_dim, " (embed_dim ", E, " / num_heads ", options.num_heads(), ")");
  TORCH_CHECK(!options.rope() || options.rope_base() > 0, kWhere, ": rope_base must be > 0, got ", options.rope_base());
}

void SelfAttentionImpl::reset_parameters() { detail::reset_projection_parameters(*this); }

AttentionOutput SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  return attend_to_self(x, mask, nullptr);
}

AttentionOutput SelfAttentionImpl::forward_cached(const torch::Tensor& x_new, KVCache& cache,
                                                  const torch::Tensor& mask) {
  return attend_to_self(x_new, mask, &cache);
}

AttentionOutput SelfAttentionImpl::attend_to_self(const torch::Tensor& x, const torch::Tensor& mask, KVCache* cache) {
  const auto E = options.embed_dim();
  detail::check_module_inputs(x, x, x, E, E, E, kWhere);
  const bool unbatched = x.dim() == 2;
  const auto qkv = detail::project_self(detail::with_batch(x, unbatched), W_q, W_k, W_v);
  auto q = detail::split_heads(qkv[0], options.num_heads());     // [B, H, T, d]
  auto k = detail::split_heads(qkv[1], options.num_kv_heads());  // [B, Hkv, T, d]
  auto v = detail::split_heads(qkv[2], options.num_kv_heads());
  const int64_t past = cache != nullptr ? cache->size() : 0;
  if (options.rope()) {
    const auto positions =
        torch::arange(past, past + x.size(-2), torch::TensorOptions(torch::kLong).device(x.device()));
    q = rotary_embedding(q, positions, options.rope_base());
    k = rotary_embedding(k, positions, options.rope_base());
  }
  if (cache != nullptr) {
    cache->append(k, v);
    k = cache->keys();  // [B, Hkv, T_cached + T_new, d]
    v = cache->values();
  }
  // The new tokens are the last rows: bottom-right alignment puts them after the cached ones.
  const auto out =
      detail::attend_heads(q, k, v, W_o,
                           detail::module_attention_options(mask, options.causal(), CausalAlignment::BottomRight,
                                                            options.dropout(), is_training(), options.need_weights()),
                           kWhere);
  return detail::without_batch(out, unbatched);
}

void SelfAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::SelfAttention(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads();
  if (options.num_kv_heads() != options.num_heads()) {
    stream << ", num_kv_heads=" << options.num_kv_heads();
  }
  stream << ", bias=" << std::boolalpha << options.bias() << ", causal=" << options.causal()
         << ", dropout=" << options.dropout();
  if (options.rope()) {
    stream << ", rope_base=" << options.rope_base();
  }
  stream << ")";
}

void SelfAttentionImpl::load(torch::serialize::InputArchive& archive) { detail::load_checked(*this, archive); }

}  // namespace attention
