#pragma once
/// \file
/// Hugging Face causal language models on this library's attention: GPT-2 and the Llama family (Llama 2/3,
/// SmolLM2, Mistral, Qwen2, Qwen3) loaded from a model folder as Hugging Face writes it, run with a cache, in
/// batches of different lengths, and generating. Target Attention::models.

#include <attention/functional.h>
#include <attention/kv_cache.h>
#include <attention/models_export.h>
#include <attention/paged_kv_cache.h>

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace attention {

/// What a model folder's config.json says, in one vocabulary for every family (GPT-2's n_embd is hidden_size...).
struct ATTENTION_MODELS_API ModelConfig {
  std::string model_type;  // gpt2, llama, mistral, qwen2, qwen3
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;  // E
  int64_t num_layers = 0;
  int64_t num_heads = 0;          // H
  int64_t num_kv_heads = 0;       // Hkv
  int64_t head_dim = 0;           // d (E / H unless the config says otherwise)
  int64_t intermediate_size = 0;  // the MLP's width
  int64_t max_positions = 0;
  double norm_eps = 1e-5;  // rms_norm_eps or layer_norm_epsilon
  double rope_theta = 10000.0;
  /// Llama 3's rope_scaling; factor 0 = none.
  struct RopeScaling {
    double factor = 0, low_freq_factor = 1, high_freq_factor = 4;
    int64_t original_max_positions = 8192;
  } rope_scaling;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // biases on q, k and v (Qwen2: always; Llama: attention_bias)
  /// Per layer: the sliding window in tokens each query sees (itself included), or none.
  std::vector<std::optional<int64_t>> sliding_windows;
  torch::ScalarType dtype = torch::kFloat;  // torch_dtype
  std::optional<int64_t> bos_token_id, eos_token_id;
};

/// Reads `dir`/config.json. Throws c10::Error naming the file and the field: an unknown model_type, a missing or
/// malformed field, or a value this library does not implement (another rope_scaling type, ...).
ATTENTION_MODELS_API ModelConfig read_model_config(const std::string& dir);

/// Options of load_causal_lm().
struct ATTENTION_MODELS_API CausalLMOptions {
  /// Convert the weights to this dtype; unset (the default): keep the file's.
  TORCH_ARG(std::optional<torch::ScalarType>, dtype) = std::nullopt;
  /// Where the weights live and the model runs. Default: the CPU.
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Called with a line of progress while loading ("reading model.safetensors"); null: silent.
  TORCH_ARG(std::function<void(const std::string&)>, progress) = nullptr;
};

/// What forward() returns.
struct ATTENTION_MODELS_API CausalLMOutput {
  /// `[B, T, V]` (forward, forward_cached) or `[rows, V]` (forward_paged).
  torch::Tensor logits;
  /// With need_attentions: each layer's attention weights `[B, H, T, Tk]`.
  std::vector<torch::Tensor> attentions;
};

/// A loaded causal language model. Inference only (its weights require no gradients); not thread-safe.
class ATTENTION_MODELS_API CausalLM {
 public:
  struct Layer;
  CausalLM(ModelConfig config, std::vector<Layer> layers, torch::Tensor embed_tokens, torch::Tensor embed_positions,
           torch::Tensor final_norm_weight, torch::Tensor final_norm_bias, torch::Tensor lm_head);
  ~CausalLM();
  CausalLM(CausalLM&&) noexcept;
  CausalLM& operator=(CausalLM&&) noexcept;

  const ModelConfig& config() const { return config_; }
  torch::Device device() const { return embed_tokens_.device(); }
  torch::ScalarType dtype() const { return embed_tokens_.scalar_type(); }

  /// input_ids int64 `[B, T]` → logits `[B, T, V]` (float32), causal; with `need_attentions` each layer's weights.
  CausalLMOutput forward(const torch::Tensor& input_ids, bool need_attentions = false) const;

  /// One KVCache per layer (caches.size() == num_layers, empty at first): input_ids `[B, T]` continue the cached
  /// tokens. Equals the matching rows of forward() of the whole sequence.
  CausalLMOutput forward_cached(const torch::Tensor& input_ids, std::vector<KVCache>& caches,
                                bool need_attentions = false) const;

  /// A ragged batch against one PagedKVCache per layer (make_paged_caches(); sequences added alike in each):
  /// input_ids int64 `[T_new]` the new tokens of `ids`, packed in that order, new_tokens[i] each. Returns the
  /// logits of every row `[T_new, V]`, or with `last_only` of each sequence's last new token `[N, V]`.
  CausalLMOutput forward_paged(const torch::Tensor& input_ids, std::vector<PagedKVCache>& caches,
                               const std::vector<int64_t>& ids, const std::vector<int64_t>& new_tokens,
                               bool last_only = false) const;

  /// One PagedKVCache per layer, with each layer's sliding window.
  std::vector<PagedKVCache> make_paged_caches(int64_t block_size = 256) const;

 private:
  torch::Tensor embed(const torch::Tensor& input_ids, const torch::Tensor& positions) const;
  torch::Tensor mlp(const Layer& layer, const torch::Tensor& x) const;
  torch::Tensor norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) const;
  torch::Tensor logits_of(const torch::Tensor& hidden) const;
  /// forward() without caches (empty), forward_cached() with them.
  CausalLMOutput run(const torch::Tensor& input_ids, std::vector<KVCache>& caches, bool need_attentions) const;

  ModelConfig config_;
  std::vector<Layer> layers_;
  torch::Tensor embed_tokens_, embed_positions_, final_norm_weight_, final_norm_bias_, lm_head_;
  torch::Tensor rope_frequencies_;  // Llama 3's scaled ones, or undefined
};

/// Loads the model in `dir` as Hugging Face writes it: config.json, then model.safetensors, the shards listed in
/// model.safetensors.index.json, or pytorch_model.bin. Strict: missing, unexpected or misshapen tensors are one
/// error listing them (GPT-2's attention-mask buffers `attn.bias`, `attn.masked_bias` are skipped). Each file is
/// read once and its tensors converted as they come, so no second full copy of the weights is held.
ATTENTION_MODELS_API CausalLM load_causal_lm(const std::string& dir, const CausalLMOptions& options = {});

/// Options of generate().
struct ATTENTION_MODELS_API GenerationOptions {
  TORCH_ARG(int64_t, max_new_tokens) = 32;
  /// Greedy decoding (the default); false samples with temperature, top_k and top_p.
  TORCH_ARG(bool, greedy) = true;
  TORCH_ARG(double, temperature) = 1.0;
  /// Keep the k most likely tokens; 0 = all.
  TORCH_ARG(int64_t, top_k) = 0;
  /// Keep the most likely tokens whose probabilities sum to top_p; 1 = all.
  TORCH_ARG(double, top_p) = 1.0;
  /// Sampling's seed: prompt i samples from its own generator seeded by (seed, i), so its text does not depend on
  /// the rest of the batch.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Stop a sequence at this token (not included); unset: the config's eos_token_id.
  TORCH_ARG(std::optional<int64_t>, eos_token_id) = std::nullopt;
  /// Called with (prompt index, token) as each token is chosen, in order; null: none.
  TORCH_ARG(std::function<void(size_t, int64_t)>, on_token) = nullptr;
  /// Tokens per block of the paged caches.
  TORCH_ARG(int64_t, block_size) = 256;
};

/// Continues every prompt (token ids, lengths may differ) as one batch: the prompts in one forward_paged() call,
/// then one step per new token for all unfinished sequences. Returns each prompt's new tokens.
ATTENTION_MODELS_API std::vector<std::vector<int64_t>> generate(const CausalLM& model,
                                                                const std::vector<std::vector<int64_t>>& prompts,
                                                                const GenerationOptions& options = {});

}  // namespace attention
