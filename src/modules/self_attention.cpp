// SelfAttention: multi-head attention of x over itself, with rotary positions and a key/value cache.
#include <attention/multi_head_attention.h>

#include "../multi_head_forward.h"
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
  TORCH_CHECK(!options.window() || *options.window() >= 0, kWhere, ": window must be >= 0, got ", *options.window());
  if (const auto eps = options.qk_norm()) {
    TORCH_CHECK(*eps > 0, kWhere, ": qk_norm's epsilon must be > 0, got ", *eps);
    q_norm = register_module("q_norm", RMSNorm(RMSNormOptions(sizes.head_dim).eps(*eps)));
    k_norm = register_module("k_norm", RMSNorm(RMSNormOptions(sizes.head_dim).eps(*eps)));
  }
}

void SelfAttentionImpl::reset_parameters() {
  detail::reset_projection_parameters(*this);
  for (auto* norm : {&q_norm, &k_norm}) {
    if (!norm->is_empty()) {
      (*norm)->reset_parameters();
    }
  }
}

AttentionOutput SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  return attend_to_self(x, mask, nullptr);
}

AttentionOutput SelfAttentionImpl::forward_cached(const torch::Tensor& x_new, KVCache& cache,
                                                  const torch::Tensor& mask) {
  return attend_to_self(x_new, mask, &cache);
}

AttentionOutput SelfAttentionImpl::forward_paged(const torch::Tensor& x, PagedKVCache& cache,
                                                 const std::vector<int64_t>& ids,
                                                 const std::vector<int64_t>& new_tokens) {
  return detail::paged_self_attention(x, cache, ids, new_tokens, settings({}), kWhere);
}

AttentionOutput SelfAttentionImpl::attend_to_self(const torch::Tensor& x, const torch::Tensor& mask, KVCache* cache) {
  return detail::multi_head_forward(x, x, x, settings(mask).kv_cache(cache), kWhere);
}

MultiHeadAttentionForwardOptions SelfAttentionImpl::settings(const torch::Tensor& mask) const {
  // x's tokens are the newest: after the cached ones (bottom-right alignment).
  auto settings = detail::forward_options(*this, mask, CausalAlignment::BottomRight)
                      .rope(options.rope())
                      .rope_base(options.rope_base());
  settings.attention_options().window(options.window());
  if (options.qk_norm()) {
    settings.q_norm_weight(q_norm->weight).k_norm_weight(k_norm->weight).qk_norm_eps(*options.qk_norm());
  }
  return settings;
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
  if (options.qk_norm()) {
    stream << ", qk_norm_eps=" << *options.qk_norm();
  }
  if (options.sinks()) {
    stream << ", sinks=true";
  }
  if (options.window()) {
    stream << ", window=" << *options.window();
  }
  stream << ")";
}

void SelfAttentionImpl::load(torch::serialize::InputArchive& archive) { detail::load_checked(*this, archive); }

}  // namespace attention
