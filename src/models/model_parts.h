#pragma once
// The parts of a CausalLM that the loader fills and the forward pass reads. Internal; not installed.

#include <attention/models.h>

#include <optional>

namespace attention {

/// One decoder layer's weights, as torch::nn::Linear holds them ([out, in]); undefined where the family has none.
struct CausalLM::Layer {
  torch::Tensor norm1_weight, norm1_bias;  // before attention (LayerNorm's bias: GPT-2 only)
  torch::Tensor q_weight, k_weight, v_weight, o_weight;
  torch::Tensor q_bias, k_bias, v_bias, o_bias;
  torch::Tensor q_norm_weight, k_norm_weight;                // Qwen3's QK-norm
  torch::Tensor norm2_weight, norm2_bias;                    // before the MLP
  torch::Tensor fc_weight, fc_bias, proj_weight, proj_bias;  // GPT-2's MLP: proj(gelu_tanh(fc(x)))
  torch::Tensor gate_weight, up_weight, down_weight;         // SwiGLU: down(silu(gate(x)) · up(x))
  std::optional<int64_t> window;                             // AttentionOptions::window of a sliding layer
};

namespace detail {

/// The rotary frequencies `[d/2]` (float64) of a config with Llama 3's rope_scaling; undefined without scaling.
torch::Tensor scaled_rope_frequencies(const ModelConfig& config, const torch::Device& device);

}  // namespace detail
}  // namespace attention
