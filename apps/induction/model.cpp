#include "induction/model.h"

#include <torch/torch.h>

namespace attention::app {

InductionModelImpl::InductionModelImpl(const InductionConfig& config_, int64_t layers) : config(config_) {
  TORCH_CHECK(layers >= 1, "an induction model needs at least one layer, got ", layers);
  torch::manual_seed(config.seed);
  embedding = register_module("embedding", torch::nn::Embedding(config.vocabulary, config.dim));
  const auto layer_norm = [&](const std::string& name) {
    return register_module(name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.dim})));
  };
  for (int64_t l = 1; l <= layers; ++l) {
    norm.push_back(layer_norm("norm" + std::to_string(l)));
    attention.push_back(register_module(
        "attention" + std::to_string(l),
        SelfAttention(SelfAttentionOptions(config.dim, config.heads).causal(true).rope(true).need_weights(false))));
    if (config.mlp) {
      mlp_norm.push_back(layer_norm("mlp_norm" + std::to_string(l)));
      mlp.push_back(
          register_module("mlp" + std::to_string(l),
                          torch::nn::Sequential(torch::nn::Linear(config.dim, 4 * config.dim), torch::nn::GELU(),
                                                torch::nn::Linear(4 * config.dim, config.dim))));
    }
  }
  final_norm = layer_norm("final_norm");
  unembedding = register_module("unembedding", torch::nn::Linear(config.dim, config.vocabulary));
}

torch::Tensor InductionModelImpl::forward(const torch::Tensor& tokens) { return run(tokens, false).logits; }

InductionOutput InductionModelImpl::forward_with_weights(const torch::Tensor& tokens) { return run(tokens, true); }

InductionOutput InductionModelImpl::run(const torch::Tensor& tokens, bool need_weights) {
  auto x = embedding(tokens);  // [B, T, E]: the residual stream
  std::vector<torch::Tensor> weights;
  for (size_t l = 0; l < attention.size(); ++l) {
    attention[l]->options.need_weights(need_weights);
    const auto out = attention[l](norm[l](x));
    x = x + out.context;
    if (!mlp.empty()) {
      x = x + mlp[l]->forward(mlp_norm[l](x));
    }
    if (need_weights) {
      weights.push_back(out.weights);  // [B, H, T, T]
    }
  }
  return {unembedding(final_norm(x)), need_weights ? torch::stack(weights) : torch::Tensor()};
}

std::string layers_name(int64_t layers) { return std::to_string(layers) + (layers == 1 ? " layer" : " layers"); }

}  // namespace attention::app
