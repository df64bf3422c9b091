// CausalLM's forward passes: embeddings, then per layer norm → attention (multi_head_attention_forward of the
// layer's weights, with RoPE, QK-norm and sliding windows as the family has them) → residual → norm → MLP →
// residual, then the final norm and the head. Over a KVCache per layer, or a PagedKVCache per layer.
#include "model_parts.h"

#include <attention/rms_norm.h>

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace attention {
namespace {

/// The MLP's rows computed at once: a long prefill's rows go in chunks of this many, so that its intermediate
/// activations ([rows, intermediate], 4 times the width for GPT-2) stay small. Whole they were, for the 2080 tokens
/// of 8 prompts, two tensors of 25 MiB per layer that malloc mapped afresh on every layer (a page fault per 4 KiB,
/// measured 15 µs each on this project's virtual machines). Rows are independent: a chunk's rows get the values of one
/// product of all of them up to rounding, as rows of products of different sizes already do.
constexpr int64_t kMlpRows = 512;

/// multi_head_attention_forward()'s options for `layer` of a model of `config`.
MultiHeadAttentionForwardOptions attention_options(const ModelConfig& config, const CausalLM::Layer& layer,
                                                   const torch::Tensor& rope_frequencies, bool need_weights) {
  auto attend = AttentionOptions().causal(true).need_weights(need_weights);
  if (layer.window) {
    attend.window(*layer.window - 1);  // Hugging Face's window counts the query itself
  }
  auto options =
      MultiHeadAttentionForwardOptions(config.num_heads, layer.q_weight, layer.k_weight, layer.v_weight, layer.o_weight)
          .num_kv_heads(config.num_kv_heads)
          .W_q_bias(layer.q_bias)
          .W_k_bias(layer.k_bias)
          .W_v_bias(layer.v_bias)
          .W_o_bias(layer.o_bias)
          .attention_options(attend);
  if (config.model_type != "gpt2") {
    options.rope(true).rope_base(config.rope_theta).rope_frequencies(rope_frequencies);
  }
  if (layer.q_norm_weight.defined()) {
    options.q_norm_weight(layer.q_norm_weight).k_norm_weight(layer.k_norm_weight).qk_norm_eps(config.norm_eps);
  }
  return options;
}

}  // namespace

CausalLM::CausalLM(ModelConfig config, std::vector<Layer> layers, torch::Tensor embed_tokens,
                   torch::Tensor embed_positions, torch::Tensor final_norm_weight, torch::Tensor final_norm_bias,
                   torch::Tensor lm_head)
    : config_(std::move(config)),
      layers_(std::move(layers)),
      embed_tokens_(std::move(embed_tokens)),
      embed_positions_(std::move(embed_positions)),
      final_norm_weight_(std::move(final_norm_weight)),
      final_norm_bias_(std::move(final_norm_bias)),
      lm_head_(std::move(lm_head)) {
  rope_frequencies_ = detail::scaled_rope_frequencies(config_, embed_tokens_.device());
}

CausalLM::~CausalLM() = default;
CausalLM::CausalLM(CausalLM&&) noexcept = default;
CausalLM& CausalLM::operator=(CausalLM&&) noexcept = default;

torch::Tensor CausalLM::embed(const torch::Tensor& input_ids, const torch::Tensor& positions) const {
  TORCH_CHECK(input_ids.scalar_type() == torch::kLong, "CausalLM: input_ids must be int64, got ",
              input_ids.scalar_type());
  if (input_ids.numel() > 0 && input_ids.is_cpu()) {  // on a device, reading them back would wait for it
    const auto lowest = input_ids.min().item<int64_t>(), highest = input_ids.max().item<int64_t>();
    TORCH_CHECK(lowest >= 0 && highest < config_.vocab_size, "CausalLM: token ids must lie in [0, ", config_.vocab_size,
                "), got ", lowest, " to ", highest);
  }
  auto x = torch::embedding(embed_tokens_, input_ids.to(device()));
  if (embed_positions_.defined()) {
    TORCH_CHECK(positions.numel() == 0 || positions.max().item<int64_t>() < config_.max_positions,
                "CausalLM: GPT-2 has ", config_.max_positions, " positions; this sequence reaches ",
                positions.max().item<int64_t>() + 1);
    x = x + torch::embedding(embed_positions_, positions.to(device()));
  }
  return x;
}

torch::Tensor CausalLM::norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) const {
  return config_.model_type == "gpt2" ? torch::layer_norm(x, {x.size(-1)}, weight, bias, config_.norm_eps)
                                      : rms_norm(x, weight, config_.norm_eps);
}

torch::Tensor CausalLM::mlp(const Layer& layer, const torch::Tensor& x) const {
  const auto of_rows = [&](const torch::Tensor& rows) {
    if (config_.model_type == "gpt2") {
      return attention::linear(torch::gelu(attention::linear(rows, layer.fc_weight, layer.fc_bias), "tanh"),
                               layer.proj_weight, layer.proj_bias);
    }
    return attention::linear(
        torch::silu(attention::linear(rows, layer.gate_weight)) * attention::linear(rows, layer.up_weight),
        layer.down_weight);
  };
  const auto width = x.size(-1), rows = width > 0 ? x.numel() / width : 0;
  if (rows <= kMlpRows) {
    return of_rows(x);
  }
  const auto flat = x.reshape({rows, width});
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < rows; first += kMlpRows) {
    parts.push_back(of_rows(flat.narrow(0, first, std::min(kMlpRows, rows - first))));
  }
  auto shape = x.sizes().vec();
  shape.back() = parts.front().size(-1);
  return torch::cat(parts).view(shape);
}

torch::Tensor CausalLM::logits_of(const torch::Tensor& hidden) const {
  return attention::linear(norm(hidden, final_norm_weight_, final_norm_bias_), lm_head_).to(torch::kFloat);
}

CausalLMOutput CausalLM::forward(const torch::Tensor& input_ids, bool need_attentions) const {
  std::vector<KVCache> none;
  return run(input_ids, none, need_attentions);
}

CausalLMOutput CausalLM::forward_cached(const torch::Tensor& input_ids, std::vector<KVCache>& caches,
                                        bool need_attentions) const {
  TORCH_CHECK(static_cast<int64_t>(caches.size()) == config_.num_layers,
              "CausalLM::forward_cached: one KVCache per "
              "layer expected (",
              config_.num_layers, "), got ", caches.size());
  return run(input_ids, caches, need_attentions);
}

CausalLMOutput CausalLM::run(const torch::Tensor& input_ids, std::vector<KVCache>& caches, bool need_attentions) const {
  TORCH_CHECK(input_ids.defined() && input_ids.dim() == 2, "CausalLM: input_ids must be [B, T], got ",
              input_ids.defined() ? input_ids.sizes() : torch::IntArrayRef{});
  torch::NoGradGuard no_grad;
  const int64_t past = caches.empty() ? 0 : caches.front().size();
  auto x = embed(input_ids, torch::arange(past, past + input_ids.size(1), torch::kLong));
  CausalLMOutput out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& layer = layers_[i];
    auto options = attention_options(config_, layer, rope_frequencies_, need_attentions);
    if (!caches.empty()) {
      options.kv_cache(&caches[i]);
    }
    const auto h = norm(x, layer.norm1_weight, layer.norm1_bias);
    const auto attended = multi_head_attention_forward(h, h, h, options);
    x = x + attended.context;
    x = x + mlp(layer, norm(x, layer.norm2_weight, layer.norm2_bias));
    if (need_attentions) {
      out.attentions.push_back(attended.weights);
    }
  }
  out.logits = logits_of(x);
  return out;
}

CausalLMOutput CausalLM::forward_paged(const torch::Tensor& input_ids, std::vector<PagedKVCache>& caches,
                                       const std::vector<int64_t>& ids, const std::vector<int64_t>& new_tokens,
                                       bool last_only) const {
  constexpr const char* where = "CausalLM::forward_paged";
  TORCH_CHECK(static_cast<int64_t>(caches.size()) == config_.num_layers, where,
              ": one PagedKVCache per layer expected (", config_.num_layers, "), got ", caches.size());
  TORCH_CHECK(input_ids.defined() && input_ids.dim() == 1, where,
              ": input_ids must be the packed new tokens [T_new], got ",
              input_ids.defined() ? input_ids.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(ids.size() == new_tokens.size(), where, ": one count of new tokens per id expected");
  torch::NoGradGuard no_grad;
  std::vector<int64_t> positions, last_rows;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto first = caches.front().length(ids[i]);
    for (int64_t j = 0; j < new_tokens[i]; ++j) {
      positions.push_back(first + j);
    }
    if (new_tokens[i] > 0) {
      last_rows.push_back(static_cast<int64_t>(positions.size()) - 1);
    }
  }
  TORCH_CHECK(static_cast<int64_t>(positions.size()) == input_ids.size(0), where, ": the new token counts add up to ",
              positions.size(), ", input_ids has ", input_ids.size(0));
  auto x = embed(input_ids, torch::tensor(positions, torch::kLong));
  for (size_t i = 0; i < layers_.size(); ++i) {
    const auto& layer = layers_[i];
    const auto h = norm(x, layer.norm1_weight, layer.norm1_bias);
    x = x + multi_head_attention_forward_paged(h, caches[i], ids, new_tokens,
                                               attention_options(config_, layer, rope_frequencies_, false))
                .context;
    x = x + mlp(layer, norm(x, layer.norm2_weight, layer.norm2_bias));
  }
  if (last_only) {
    x = x.index_select(0, torch::tensor(last_rows, torch::kLong).to(x.device()));
  }
  return {logits_of(x), {}};
}

std::vector<PagedKVCache> CausalLM::make_paged_caches(int64_t block_size) const {
  std::vector<PagedKVCache> caches;
  for (const auto& layer : layers_) {
    auto options = PagedKVCacheOptions().block_size(block_size);
    if (layer.window) {
      options.window(*layer.window - 1);
    }
    caches.emplace_back(options);
  }
  return caches;
}

}  // namespace attention
