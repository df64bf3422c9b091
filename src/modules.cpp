#include <attention/multi_head_attention.h>
#include <attention/scaled_dot_product_attention.h>
#include <attention/simple_attention.h>

#include "detail.h"

#include <torch/torch.h>

namespace attention {
namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

void check_positive(int64_t value, const char* where, const char* name) {
  TORCH_CHECK(value > 0, where, ": ", name, " must be > 0, got ", value);
}

void check_heads(int64_t embed_dim, int64_t num_heads, const char* where) {
  check_positive(embed_dim, where, "embed_dim");
  check_positive(num_heads, where, "num_heads");
  TORCH_CHECK(embed_dim % num_heads == 0, where, ": embed_dim (", embed_dim, ") must be divisible by num_heads (",
              num_heads, ")");
}

/// The options the modules pass to the functional API, from their own settings and train/eval mode.
AttentionOptions attention_options(const torch::Tensor& mask, bool causal, CausalAlignment alignment,
                                   double dropout, bool training, bool need_weights) {
  return AttentionOptions()
      .mask(mask)
      .causal(causal)
      .causal_alignment(alignment)
      .dropout(dropout)
      .training(training)
      .need_weights(need_weights);
}

/// The three input projections of x as one matrix product: x [B, T, E] · [W_q; W_k; W_v]ᵀ → 3 x [B, T, E].
std::vector<torch::Tensor> fused_projection(const torch::Tensor& x, std::initializer_list<torch::nn::Linear> linears,
                                            bool bias) {
  std::vector<torch::Tensor> weights, biases;
  for (const auto& linear : linears) {
    weights.push_back(linear->weight);
    if (bias) {
      biases.push_back(linear->bias);
    }
  }
  return torch::linear(x, torch::cat(weights), bias ? torch::cat(biases) : torch::Tensor())
      .chunk(static_cast<int64_t>(linears.size()), -1);
}

void reset_linears(std::initializer_list<torch::nn::Linear*> linears) {
  for (auto* linear : linears) {
    (*linear)->reset_parameters();
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------- SimpleAttention

AttentionOutput SimpleAttentionImpl::forward(const torch::Tensor& x) {
  return simple_attention(x);
}

void SimpleAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::SimpleAttention()";
}

// ------------------------------------------------------------------------------------ ScaledDotProductAttention

ScaledDotProductAttentionImpl::ScaledDotProductAttentionImpl(const ScaledDotProductAttentionOptions& options_)
    : options(options_) {
  reset();
}

void ScaledDotProductAttentionImpl::reset() {
  constexpr const char* where = "ScaledDotProductAttention";
  check_positive(options.d_in(), where, "d_in");
  check_positive(options.d_out(), where, "d_out");
  detail::check_dropout(options.dropout(), where);
  W_q = register_module("W_q", make_linear(options.d_in(), options.d_out(), options.bias()));
  W_k = register_module("W_k", make_linear(options.d_in(), options.d_out(), options.bias()));
  W_v = register_module("W_v", make_linear(options.d_in(), options.d_out(), options.bias()));
}

void ScaledDotProductAttentionImpl::reset_parameters() {
  reset_linears({&W_q, &W_k, &W_v});
}

AttentionOutput ScaledDotProductAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                       const torch::Tensor& value, const torch::Tensor& mask) {
  constexpr const char* where = "ScaledDotProductAttention";
  const auto d_in = options.d_in();
  detail::check_module_inputs(query, key, value, d_in, d_in, d_in, where);
  const bool unbatched = query.dim() == 2;
  // One head: [B, T, d] → [B, 1, T, d], so masks broadcast to [B, 1, Tq, Tk] as for the multi-head modules.
  const auto as_one_head = [&](const torch::Tensor& x) { return (unbatched ? x.unsqueeze(0) : x).unsqueeze(1); };
  auto out = detail::attend(as_one_head(W_q(query)), as_one_head(W_k(key)), as_one_head(W_v(value)),
                            attention_options(mask, options.causal(), options.causal_alignment(), options.dropout(),
                                              is_training(), options.need_weights()),
                            where);
  const auto drop_added = [&](const torch::Tensor& x) {
    if (!x.defined()) {
      return x;
    }
    const auto single = x.squeeze(1);
    return unbatched ? single.squeeze(0) : single;
  };
  return {drop_added(out.context), drop_added(out.weights)};
}

void ScaledDotProductAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::ScaledDotProductAttention(d_in=" << options.d_in() << ", d_out=" << options.d_out()
         << ", bias=" << std::boolalpha << options.bias() << ", causal=" << options.causal()
         << ", dropout=" << options.dropout() << ")";
}

void ScaledDotProductAttentionImpl::load(torch::serialize::InputArchive& archive) {
  detail::load_checked(*this, archive);
}

// ----------------------------------------------------------------------------------------- MultiHeadAttention

MultiHeadAttentionImpl::MultiHeadAttentionImpl(const MultiHeadAttentionOptions& options_) : options(options_) {
  reset();
}

void MultiHeadAttentionImpl::reset() {
  constexpr const char* where = "MultiHeadAttention";
  check_heads(options.embed_dim(), options.num_heads(), where);
  check_positive(options.kdim(), where, "kdim");
  check_positive(options.vdim(), where, "vdim");
  detail::check_dropout(options.dropout(), where);
  const auto E = options.embed_dim();
  W_q = register_module("W_q", make_linear(E, E, options.bias()));
  W_k = register_module("W_k", make_linear(options.kdim(), E, options.bias()));
  W_v = register_module("W_v", make_linear(options.vdim(), E, options.bias()));
  W_o = register_module("W_o", make_linear(E, E, options.bias()));
}

void MultiHeadAttentionImpl::reset_parameters() {
  reset_linears({&W_q, &W_k, &W_v, &W_o});
}

AttentionOutput MultiHeadAttentionImpl::forward(const torch::Tensor& query, const torch::Tensor& key,
                                                const torch::Tensor& value, const torch::Tensor& mask) {
  constexpr const char* where = "MultiHeadAttention";
  detail::check_module_inputs(query, key, value, options.embed_dim(), options.kdim(), options.vdim(), where);
  const auto attention = attention_options(mask, options.causal(), options.causal_alignment(), options.dropout(),
                                           is_training(), options.need_weights());
  if (query.is_same(key) && key.is_same(value)) {  // self-attention: one fused projection
    const auto qkv = fused_projection(query, {W_q, W_k, W_v}, options.bias());
    return detail::multi_head(qkv[0], qkv[1], qkv[2], options.num_heads(), W_o, attention, where);
  }
  return detail::multi_head(W_q(query), W_k(key), W_v(value), options.num_heads(), W_o, attention, where);
}

void MultiHeadAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::MultiHeadAttention(embed_dim=" << options.embed_dim()
         << ", num_heads=" << options.num_heads();
  if (options.kdim() != options.embed_dim() || options.vdim() != options.embed_dim()) {
    stream << ", kdim=" << options.kdim() << ", vdim=" << options.vdim();
  }
  stream << ", bias=" << std::boolalpha << options.bias() << ", causal=" << options.causal()
         << ", dropout=" << options.dropout() << ")";
}

void MultiHeadAttentionImpl::load(torch::serialize::InputArchive& archive) {
  detail::load_checked(*this, archive);
}

void import_weights(MultiHeadAttentionImpl& target, const torch::nn::MultiheadAttentionImpl& source) {
  constexpr const char* where = "import_weights";
  const auto& theirs = source.options;
  const auto& ours = target.options;
  TORCH_CHECK(theirs.embed_dim() == ours.embed_dim() && theirs.num_heads() == ours.num_heads() &&
                  theirs.kdim() == ours.kdim() && theirs.vdim() == ours.vdim(),
              where, ": sizes differ: source has embed_dim=", theirs.embed_dim(), ", num_heads=", theirs.num_heads(),
              ", kdim=", theirs.kdim(), ", vdim=", theirs.vdim(), "; target has embed_dim=", ours.embed_dim(),
              ", num_heads=", ours.num_heads(), ", kdim=", ours.kdim(), ", vdim=", ours.vdim());
  TORCH_CHECK(theirs.bias() == ours.bias(), where, ": source has bias=", theirs.bias(), " but target has bias=",
              ours.bias());
  TORCH_CHECK(!theirs.add_bias_kv() && !theirs.add_zero_attn(), where,
              ": add_bias_kv and add_zero_attn have no counterpart in attention::MultiHeadAttention");
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

// ---------------------------------------------------------------------------------------------- SelfAttention

SelfAttentionImpl::SelfAttentionImpl(const SelfAttentionOptions& options_) : options(options_) {
  reset();
}

void SelfAttentionImpl::reset() {
  constexpr const char* where = "SelfAttention";
  check_heads(options.embed_dim(), options.num_heads(), where);
  detail::check_dropout(options.dropout(), where);
  const auto E = options.embed_dim();
  W_q = register_module("W_q", make_linear(E, E, options.bias()));
  W_k = register_module("W_k", make_linear(E, E, options.bias()));
  W_v = register_module("W_v", make_linear(E, E, options.bias()));
  W_o = register_module("W_o", make_linear(E, E, options.bias()));
}

void SelfAttentionImpl::reset_parameters() {
  reset_linears({&W_q, &W_k, &W_v, &W_o});
}

AttentionOutput SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask) {
  constexpr const char* where = "SelfAttention";
  const auto E = options.embed_dim();
  detail::check_module_inputs(x, x, x, E, E, E, where);
  const auto qkv = fused_projection(x, {W_q, W_k, W_v}, options.bias());
  return detail::multi_head(qkv[0], qkv[1], qkv[2], options.num_heads(), W_o,
                            attention_options(mask, options.causal(), CausalAlignment::TopLeft, options.dropout(),
                                              is_training(), options.need_weights()),
                            where);
}

void SelfAttentionImpl::pretty_print(std::ostream& stream) const {
  stream << "attention::SelfAttention(embed_dim=" << options.embed_dim() << ", num_heads=" << options.num_heads()
         << ", bias=" << std::boolalpha << options.bias() << ", causal=" << options.causal()
         << ", dropout=" << options.dropout() << ")";
}

void SelfAttentionImpl::load(torch::serialize::InputArchive& archive) {
  detail::load_checked(*this, archive);
}

}  // namespace attention
