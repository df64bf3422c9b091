#pragma once
// The model of the induction task: a small decoder built from the library's modules. Token embeddings, then
// layers of causal self-attention with rotary positions (and, optionally, an MLP block), each reading the
// layer-normalised residual stream and adding its output to it, then a last layer norm and the unembedding to
// next-token logits (GPT-2's pre-norm layout).

#include "induction/config.h"

#include <attention/attention.h>

#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attention::app {

/// Logits and, per layer, the attention weights behind them.
struct InductionOutput {
  torch::Tensor logits;   ///< `[B, T, V]`: row t predicts token t + 1
  torch::Tensor weights;  ///< `[L, B, H, T, T]`: layer l's weights of each head, rows queries, columns keys
};

class InductionModelImpl : public torch::nn::Module {
 public:
  /// A model of `layers` layers (the trained model has config.layers, the baseline 1) of config's sizes. Seeds
  /// LibTorch's generator with config.seed first, so the model and the baseline start from the same embeddings.
  /// Throws c10::Error for sizes SelfAttention refuses: heads that do not divide dim, or an odd head width
  /// (rotary positions turn pairs of dimensions).
  InductionModelImpl(const InductionConfig& config, int64_t layers);

  /// tokens `[B, T]` → next-token logits `[B, T, V]`, without forming the attention weights (the fast path).
  torch::Tensor forward(const torch::Tensor& tokens);
  /// The same, with every layer's attention weights.
  InductionOutput forward_with_weights(const torch::Tensor& tokens);

  int64_t layer_count() const { return static_cast<int64_t>(attention.size()); }

  InductionConfig config;
  torch::nn::Embedding embedding = nullptr;
  std::vector<torch::nn::LayerNorm> norm;      ///< "norm1", ...: before each attention layer
  std::vector<SelfAttention> attention;        ///< "attention1", "attention2", ...
  std::vector<torch::nn::LayerNorm> mlp_norm;  ///< "mlp_norm1", ... when config.mlp, else empty
  std::vector<torch::nn::Sequential> mlp;      ///< "mlp1", ... when config.mlp, else empty
  torch::nn::LayerNorm final_norm = nullptr;
  torch::nn::Linear unembedding = nullptr;

 private:
  InductionOutput run(const torch::Tensor& tokens, bool need_weights);
};
TORCH_MODULE(InductionModel);

/// How the summary and the pictures name a model of `layers` layers: "1 layer", "2 layers".
std::string layers_name(int64_t layers);

}  // namespace attention::app
