// load_causal_lm: a Hugging Face model folder into a CausalLM. The weight files are read one at a time, each
// tensor checked against the shape its name must have and converted as it comes; one error lists every missing,
// unexpected and misshapen tensor.
#include "model_parts.h"

#include <attention/state_dict.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace attention {
namespace {

namespace fs = std::filesystem;

/// Where a checkpoint tensor goes, and the shape it must have; `conv1d` stores [in, out] (GPT-2), transposed here.
struct Slot {
  torch::Tensor* target;
  std::vector<int64_t> shape;
  bool conv1d = false;
};

/// The weight files of `dir`, in the order to read them.
std::vector<std::string> weight_files(const std::string& dir) {
  const fs::path folder(dir);
  if (fs::exists(folder / "model.safetensors")) {
    return {(folder / "model.safetensors").string()};
  }
  const auto index = folder / "model.safetensors.index.json";
  if (fs::exists(index)) {
    std::ifstream file(index);
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(file);
    } catch (const nlohmann::json::exception& error) {
      C10_THROW_ERROR(Error, c10::str(index.string(), ": not valid JSON: ", error.what()));
    }
    TORCH_CHECK(json.contains("weight_map") && json["weight_map"].is_object(), index.string(),
                ": has no \"weight_map\" object");
    std::set<std::string> shards;
    for (const auto& [name, shard] : json["weight_map"].items()) {
      TORCH_CHECK(shard.is_string(), index.string(), ": the shard of ", name, " is not a file name");
      shards.insert(shard.get<std::string>());
    }
    std::vector<std::string> paths;
    for (const auto& shard : shards) {
      TORCH_CHECK(fs::path(shard).filename() == fs::path(shard), index.string(), ": shard \"", shard,
                  "\" is not a file of the folder");
      paths.push_back((folder / shard).string());
    }
    return paths;
  }
  if (fs::exists(folder / "pytorch_model.bin")) {
    return {(folder / "pytorch_model.bin").string()};
  }
  C10_THROW_ERROR(Error, c10::str(dir,
                                  ": no weights (model.safetensors, model.safetensors.index.json or "
                                  "pytorch_model.bin)"));
}

/// Every tensor a model of `config` reads, by its Hugging Face name.
class Slots {
 public:
  Slots(const ModelConfig& config, std::vector<CausalLM::Layer>& layers, torch::Tensor& embed_tokens,
        torch::Tensor& embed_positions, torch::Tensor& final_norm_weight, torch::Tensor& final_norm_bias,
        torch::Tensor& lm_head)
      : gpt2_(config.model_type == "gpt2") {
    const auto E = config.hidden_size, V = config.vocab_size, I = config.intermediate_size;
    const auto q_rows = config.num_heads * config.head_dim, kv_rows = config.num_kv_heads * config.head_dim;
    if (gpt2_) {
      add("wte.weight", embed_tokens, {V, E});
      add("wpe.weight", embed_positions, {config.max_positions, E});
      add("ln_f.weight", final_norm_weight, {E});
      add("ln_f.bias", final_norm_bias, {E});
    } else {
      add("model.embed_tokens.weight", embed_tokens, {V, E});
      add("model.norm.weight", final_norm_weight, {E});
    }
    if (!config.tie_word_embeddings) {
      add("lm_head.weight", lm_head, {V, E});
    } else {
      optional_lm_head_ = &lm_head;
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      auto& layer = layers[i];
      if (gpt2_) {
        const auto prefix = "h." + std::to_string(i) + ".";
        add(prefix + "ln_1.weight", layer.norm1_weight, {E});
        add(prefix + "ln_1.bias", layer.norm1_bias, {E});
        add(prefix + "attn.c_attn.weight", packed_qkv_weight_[i], {E, 3 * E}, /*conv1d=*/true);
        add(prefix + "attn.c_attn.bias", packed_qkv_bias_[i], {3 * E});
        add(prefix + "attn.c_proj.weight", layer.o_weight, {E, E}, true);
        add(prefix + "attn.c_proj.bias", layer.o_bias, {E});
        add(prefix + "ln_2.weight", layer.norm2_weight, {E});
        add(prefix + "ln_2.bias", layer.norm2_bias, {E});
        add(prefix + "mlp.c_fc.weight", layer.fc_weight, {E, I}, true);
        add(prefix + "mlp.c_fc.bias", layer.fc_bias, {I});
        add(prefix + "mlp.c_proj.weight", layer.proj_weight, {I, E}, true);
        add(prefix + "mlp.c_proj.bias", layer.proj_bias, {E});
        continue;
      }
      const auto prefix = "model.layers." + std::to_string(i) + ".";
      add(prefix + "input_layernorm.weight", layer.norm1_weight, {E});
      add(prefix + "self_attn.q_proj.weight", layer.q_weight, {q_rows, E});
      add(prefix + "self_attn.k_proj.weight", layer.k_weight, {kv_rows, E});
      add(prefix + "self_attn.v_proj.weight", layer.v_weight, {kv_rows, E});
      add(prefix + "self_attn.o_proj.weight", layer.o_weight, {E, q_rows});
      if (config.attention_bias) {
        add(prefix + "self_attn.q_proj.bias", layer.q_bias, {q_rows});
        add(prefix + "self_attn.k_proj.bias", layer.k_bias, {kv_rows});
        add(prefix + "self_attn.v_proj.bias", layer.v_bias, {kv_rows});
        if (config.model_type != "qwen2") {  // Qwen2's o_proj has no bias
          add(prefix + "self_attn.o_proj.bias", layer.o_bias, {E});
        }
      }
      if (config.model_type == "qwen3") {
        add(prefix + "self_attn.q_norm.weight", layer.q_norm_weight, {config.head_dim});
        add(prefix + "self_attn.k_norm.weight", layer.k_norm_weight, {config.head_dim});
      }
      add(prefix + "post_attention_layernorm.weight", layer.norm2_weight, {E});
      add(prefix + "mlp.gate_proj.weight", layer.gate_weight, {I, E});
      add(prefix + "mlp.up_proj.weight", layer.up_weight, {I, E});
      add(prefix + "mlp.down_proj.weight", layer.down_weight, {E, I});
    }
  }

  /// Takes the tensor `name` of a file: into its slot, converted, or into the list of what is wrong.
  void take(std::string name, const torch::Tensor& tensor, const CausalLMOptions& options, torch::ScalarType dtype) {
    if (gpt2_ && name.rfind("transformer.", 0) == 0) {
      name = name.substr(12);  // GPT2LMHeadModel's names; the hub's gpt2 file has none
    }
    if (is_buffer(name)) {
      return;
    }
    if (name == "lm_head.weight" && optional_lm_head_ != nullptr) {
      slots_.emplace(name, Slot{optional_lm_head_, {}});  // a tied head saved anyway: taken, shape checked later
    }
    const auto found = slots_.find(name);
    if (found == slots_.end()) {
      unexpected_.push_back(name);
      return;
    }
    auto& slot = found->second;
    if (!slot.shape.empty() && tensor.sizes() != torch::IntArrayRef(slot.shape)) {
      std::ostringstream line;
      line << name << " is " << tensor.sizes() << ", expected " << torch::IntArrayRef(slot.shape);
      misshapen_.push_back(line.str());
    } else {
      const auto laid_out = slot.conv1d ? tensor.t() : tensor;
      *slot.target = laid_out.to(options.device(), dtype).contiguous();
    }
    slots_.erase(found);
  }

  /// Throws naming every missing, unexpected or misshapen tensor; then splits GPT-2's packed q, k, v.
  void finish(const std::string& dir, std::vector<CausalLM::Layer>& layers) {
    std::vector<std::string> missing;
    for (const auto& [name, slot] : slots_) {
      missing.push_back(name);
    }
    std::ostringstream problems;
    const auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) {
        return;
      }
      problems << "\n  " << what << " (" << names.size() << "):";
      for (size_t i = 0; i < names.size() && i < 20; ++i) {
        problems << " " << names[i];
      }
      if (names.size() > 20) {
        problems << " ...";
      }
    };
    list("missing", missing);
    list("unexpected", unexpected_);
    list("misshapen", misshapen_);
    TORCH_CHECK(problems.str().empty(), dir, ": the weights do not fit config.json:", problems.str());
    pack_projections(layers);
    for (auto& [index, packed] : packed_qkv_weight_) {  // GPT-2's c_attn: already one block, split into views
      auto& layer = layers[index];
      const auto parts = packed.chunk(3, 0), biases = packed_qkv_bias_[index].chunk(3, 0);
      layer.q_weight = parts[0].contiguous(), layer.k_weight = parts[1].contiguous();
      layer.v_weight = parts[2].contiguous();
      layer.q_bias = biases[0].contiguous(), layer.k_bias = biases[1].contiguous();
      layer.v_bias = biases[2].contiguous();
    }
  }

 private:
  /// The q, k and v projections of each layer (and their biases) as views of one block, one after another, so the
  /// attention's single product of the three reads them in place (multi_head_attention_forward: project_together).
  static void pack_projections(std::vector<CausalLM::Layer>& layers) {
    const auto pack = [](torch::Tensor& q, torch::Tensor& k, torch::Tensor& v) {
      if (!q.defined()) {
        return;
      }
      const auto block = torch::cat({q, k, v});
      q = block.narrow(0, 0, q.size(0));
      k = block.narrow(0, q.size(0), k.size(0));
      v = block.narrow(0, q.size(0) + k.size(0), v.size(0));
    };
    for (auto& layer : layers) {
      pack(layer.q_weight, layer.k_weight, layer.v_weight);
      pack(layer.q_bias, layer.k_bias, layer.v_bias);
    }
  }

  void add(const std::string& name, torch::Tensor& target, std::vector<int64_t> shape, bool conv1d = false) {
    slots_.emplace(name, Slot{&target, std::move(shape), conv1d});
  }
  bool is_buffer(const std::string& name) const {
    const auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return (gpt2_ && (ends_with(".attn.bias") || ends_with(".attn.masked_bias"))) || ends_with(".rotary_emb.inv_freq");
  }

  bool gpt2_;
  torch::Tensor* optional_lm_head_ = nullptr;
  std::map<std::string, Slot> slots_;
  std::map<size_t, torch::Tensor> packed_qkv_weight_, packed_qkv_bias_;
  std::vector<std::string> unexpected_, misshapen_;
};

}  // namespace

CausalLM load_causal_lm(const std::string& dir, const CausalLMOptions& options) {
  const auto config = read_model_config(dir);
  const auto dtype = options.dtype().value_or(config.dtype);
  TORCH_CHECK(dtype == torch::kFloat || dtype == torch::kBFloat16 || dtype == torch::kHalf || dtype == torch::kDouble,
              "load_causal_lm: dtype ", dtype, " is not a floating dtype");
  std::vector<CausalLM::Layer> layers(static_cast<size_t>(config.num_layers));
  torch::Tensor embed_tokens, embed_positions, final_norm_weight, final_norm_bias, lm_head;
  Slots slots(config, layers, embed_tokens, embed_positions, final_norm_weight, final_norm_bias, lm_head);
  torch::NoGradGuard no_grad;
  for (const auto& path : weight_files(dir)) {
    if (options.progress()) {
      options.progress()("reading " + fs::path(path).filename().string());
    }
    auto tensors = read_state_dict(path);
    for (auto& item : tensors) {
      slots.take(item.key(), item.value(), options, dtype);
      item.value() = torch::Tensor();  // each tensor's file copy is freed once converted
    }
  }
  slots.finish(dir, layers);
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i].window = config.sliding_windows[i];
  }
  if (!lm_head.defined()) {
    lm_head = embed_tokens;  // tied
  }
  return CausalLM(config, std::move(layers), embed_tokens, embed_positions, final_norm_weight, final_norm_bias,
                  lm_head);
}

}  // namespace attention
