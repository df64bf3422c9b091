// ScaledDotProductAttention: one head with learnable W_q, W_k, W_v (the tutorial's trainable attention).
#include <attention/scaled_dot_product_attention.h>

#include "../batch.h"
#include "../paths/paths.h"
#include "../validation.h"
#include "checked_load.h"
#include "multi_head.h"

#include <torch/torch.h>

namespace attention {

ScaledDotProductAttentionImpl::ScaledDotProductAttentionImpl(const ScaledDotProductAttentionOptions& options_)
    : options(options_) {
  reset();
}

void ScaledDotProductAttentionImpl::reset() {
  constexpr const char* where = "ScaledDotProductAttention";
  detail::check_positive(options.d_in(), where, "d_in");
  detail::check_positive(options.d_out(), where, "d_out");
  detail::check_dropout(options.dropout(), where);
  W_q = register_module("W_q", detail::make_linear(options.d_in(), options.d_out(), options.bias()));
  W_k = register_module("W_k", detail::make_linear(options.d_in(), options.d_out(), options.bias()));
  W_v = register_module("W_v", detail::make_linear(options.d_in(), options.d_out(), options.bias()));
}

void ScaledDotProductAttentionImpl::reset_parameters() {
  for (auto* linear : {&W_q, &W_k, &W_v}) {
    (*linear)->reset_parameters();
  }
}

AttentionOutput ScaledDotProductAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                       const torch::Tensor& value, const torch::Tensor& mask) {
  constexpr const char* where = "ScaledDotProductAttention";
  const auto d_in = options.d_in();
  detail::check_module_inputs(query, key, value, d_in, d_in, d_in, where);
  const bool unbatched = query.dim() == 2;
  // One head: [B, T, d] → [B, 1, T, d], so masks broadcast to [B, 1, Tq, Tk] as for the multi-head modules.
  const auto as_one_head = [&](const torch::Tensor& x) { return detail::with_batch(x, unbatched).unsqueeze(1); };
  auto out = detail::attend(as_one_head(W_q(query)), as_one_head(W_k(key)), as_one_head(W_v(value)),
                            detail::module_attention_options(mask, options.causal(), options.causal_alignment(),
                                                             options.dropout(), is_training(), options.need_weights()),
                            where);
  out.context = out.context.squeeze(1);
  if (out.weights.defined()) {
    out.weights = out.weights.squeeze(1);
  }
  return detail::without_batch(out, unbatched);
}

void ScaledDotProductAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::ScaledDotProductAttention(d_in=" << options.d_in() << ", d_out=" << options.d_out()
         << ", bias=" << std::boolalpha << options.bias() << ", causal=" << options.causal()
         << ", dropout=" << options.dropout() << ")";
}

void ScaledDotProductAttentionImpl::load(torch::serialize::InputArchive& archive) {
  detail::load_checked(*this, archive);
}

}  // namespace attention
