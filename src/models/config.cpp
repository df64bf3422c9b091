// read_model_config: config.json of the families this library runs, in one vocabulary. A field it does not
// implement is an error naming it, never a silently different model.
#include <attention/models.h>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace attention {
namespace {

using Json = nlohmann::json;

/// Reads fields of one config.json, naming the file and the field in every error.
class Fields {
 public:
  Fields(Json json, std::string path) : json_(std::move(json)), path_(std::move(path)) {}

  bool has(const char* name) const { return json_.contains(name) && !json_.at(name).is_null(); }

  int64_t integer(const char* name) const {
    TORCH_CHECK(has(name), path_, ": the field \"", name, "\" is missing");
    return integer_at(json_.at(name), name);
  }
  int64_t integer(const char* name, int64_t fallback) const { return has(name) ? integer(name) : fallback; }
  std::optional<int64_t> optional_integer(const char* name) const {
    if (!has(name)) {
      return std::nullopt;
    }
    const auto& value = json_.at(name);
    if (value.is_array()) {  // several end-of-sequence tokens: the first one ends generation
      TORCH_CHECK(!value.empty(), path_, ": the field \"", name, "\" is an empty list");
      return integer_at(value.front(), name);
    }
    return integer_at(value, name);
  }
  double number(const char* name, double fallback) const {
    if (!has(name)) {
      return fallback;
    }
    TORCH_CHECK(json_.at(name).is_number(), path_, ": the field \"", name, "\" must be a number, got ",
                json_.at(name).dump());
    return json_.at(name).get<double>();
  }
  bool boolean(const char* name, bool fallback) const {
    if (!has(name)) {
      return fallback;
    }
    TORCH_CHECK(json_.at(name).is_boolean(), path_, ": the field \"", name, "\" must be true or false, got ",
                json_.at(name).dump());
    return json_.at(name).get<bool>();
  }
  std::string text(const char* name, const std::string& fallback) const {
    if (!has(name)) {
      return fallback;
    }
    TORCH_CHECK(json_.at(name).is_string(), path_, ": the field \"", name, "\" must be a string, got ",
                json_.at(name).dump());
    return json_.at(name).get<std::string>();
  }
  const Json& at(const char* name) const { return json_.at(name); }
  const std::string& path() const { return path_; }

 private:
  int64_t integer_at(const Json& value, const char* name) const {
    TORCH_CHECK(value.is_number_integer(), path_, ": the field \"", name, "\" must be an integer, got ", value.dump());
    return value.get<int64_t>();
  }

  Json json_;
  std::string path_;
};

Fields read_fields(const std::string& dir) {
  const auto path = (std::filesystem::path(dir) / "config.json").string();
  std::ifstream file(path);
  TORCH_CHECK(file, path, ": cannot be read (is ", dir, " a Hugging Face model folder?)");
  try {
    return Fields(Json::parse(file), path);
  } catch (const Json::exception& error) {
    C10_THROW_ERROR(Error, c10::str(path, ": not valid JSON: ", error.what()));
  }
}

torch::ScalarType dtype_named(const Fields& fields) {
  const auto name = fields.text("torch_dtype", fields.text("dtype", "float32"));
  if (name == "float32") {
    return torch::kFloat;
  }
  if (name == "bfloat16") {
    return torch::kBFloat16;
  }
  if (name == "float16") {
    return torch::kHalf;
  }
  C10_THROW_ERROR(Error, c10::str(fields.path(), ": torch_dtype \"", name, "\" is not float32, bfloat16 or float16"));
}

void read_gpt2(const Fields& fields, ModelConfig& config) {
  config.hidden_size = fields.integer("n_embd");
  config.num_layers = fields.integer("n_layer");
  config.num_heads = fields.integer("n_head");
  config.num_kv_heads = config.num_heads;
  config.max_positions = fields.integer("n_positions", fields.integer("n_ctx", 1024));
  config.intermediate_size = fields.integer("n_inner", 4 * config.hidden_size);
  config.norm_eps = fields.number("layer_norm_epsilon", 1e-5);
  config.tie_word_embeddings = fields.boolean("tie_word_embeddings", true);
  const auto activation = fields.text("activation_function", "gelu_new");
  TORCH_CHECK(activation == "gelu_new", fields.path(), ": activation_function \"", activation,
              "\" is not implemented (only gelu_new, GPT-2's tanh approximation)");
  TORCH_CHECK(fields.boolean("scale_attn_weights", true) && !fields.boolean("scale_attn_by_inverse_layer_idx", false) &&
                  !fields.boolean("reorder_and_upcast_attn", false),
              fields.path(), ": GPT-2's attention scaling options other than scale_attn_weights are not implemented");
  config.attention_bias = true;
}

void read_llama_family(const Fields& fields, ModelConfig& config) {
  config.hidden_size = fields.integer("hidden_size");
  config.num_layers = fields.integer("num_hidden_layers");
  config.num_heads = fields.integer("num_attention_heads");
  config.num_kv_heads = fields.integer("num_key_value_heads", config.num_heads);
  config.intermediate_size = fields.integer("intermediate_size");
  config.max_positions = fields.integer("max_position_embeddings", 2048);
  config.norm_eps = fields.number("rms_norm_eps", 1e-6);
  config.rope_theta = fields.number("rope_theta", 10000.0);
  config.tie_word_embeddings = fields.boolean("tie_word_embeddings", false);
  config.attention_bias = config.model_type == "qwen2" || fields.boolean("attention_bias", false);
  if (fields.has("head_dim")) {
    config.head_dim = fields.integer("head_dim");
  }
  const auto activation = fields.text("hidden_act", "silu");
  TORCH_CHECK(activation == "silu", fields.path(), ": hidden_act \"", activation, "\" is not implemented (only silu)");
  TORCH_CHECK(!fields.boolean("mlp_bias", false), fields.path(), ": mlp_bias is not implemented");
  if (fields.has("rope_scaling")) {
    const auto& scaling = fields.at("rope_scaling");
    TORCH_CHECK(scaling.is_object(), fields.path(), ": rope_scaling must be an object, got ", scaling.dump());
    const auto type = scaling.value("rope_type", scaling.value("type", std::string()));
    TORCH_CHECK(type == "llama3" || type == "default", fields.path(), ": rope_scaling type \"", type,
                "\" is not implemented (only llama3)");
    if (type == "llama3") {
      Fields inner(scaling, fields.path() + " rope_scaling");
      config.rope_scaling.factor = inner.number("factor", 0);
      config.rope_scaling.low_freq_factor = inner.number("low_freq_factor", 1);
      config.rope_scaling.high_freq_factor = inner.number("high_freq_factor", 4);
      config.rope_scaling.original_max_positions = inner.integer("original_max_position_embeddings", 8192);
      TORCH_CHECK(
          config.rope_scaling.factor > 0 && config.rope_scaling.high_freq_factor > config.rope_scaling.low_freq_factor,
          fields.path(), ": rope_scaling needs factor > 0 and high_freq_factor > low_freq_factor, got ",
          scaling.dump());
    }
  }
}

/// Which layers slide, by the family's rules: Mistral's sliding_window applies to every layer; Qwen2's and
/// Qwen3's only with use_sliding_window, from layer max_window_layers on; `layer_types` (newer configs) names each.
void read_sliding_windows(const Fields& fields, ModelConfig& config) {
  config.sliding_windows.assign(static_cast<size_t>(config.num_layers), std::nullopt);
  if (config.model_type == "gpt2" || !fields.has("sliding_window")) {
    return;
  }
  const auto window = fields.integer("sliding_window");
  TORCH_CHECK(window > 0, fields.path(), ": sliding_window must be > 0, got ", window);
  const bool qwen = config.model_type == "qwen2" || config.model_type == "qwen3";
  if (qwen && !fields.boolean("use_sliding_window", false)) {
    return;
  }
  if (fields.has("layer_types")) {
    const auto& types = fields.at("layer_types");
    TORCH_CHECK(types.is_array() && static_cast<int64_t>(types.size()) == config.num_layers, fields.path(),
                ": layer_types must list the ", config.num_layers, " layers, got ", types.dump());
    for (size_t i = 0; i < types.size(); ++i) {
      TORCH_CHECK(types[i] == "sliding_attention" || types[i] == "full_attention", fields.path(), ": layer type ",
                  types[i].dump(), " is not implemented");
      if (types[i] == "sliding_attention") {
        config.sliding_windows[i] = window;
      }
    }
    return;
  }
  const auto first = qwen ? fields.integer("max_window_layers", 0) : 0;
  for (int64_t i = first; i < config.num_layers; ++i) {
    config.sliding_windows[static_cast<size_t>(i)] = window;
  }
}

}  // namespace

ModelConfig read_model_config(const std::string& dir) {
  const auto fields = read_fields(dir);
  ModelConfig config;
  config.model_type = fields.text("model_type", "");
  static const std::set<std::string> known{"gpt2", "llama", "mistral", "qwen2", "qwen3"};
  TORCH_CHECK(known.count(config.model_type) > 0, fields.path(), ": model_type \"", config.model_type,
              "\" is not one this library runs (gpt2, llama, mistral, qwen2, qwen3)");
  if (config.model_type == "gpt2") {
    read_gpt2(fields, config);
  } else {
    read_llama_family(fields, config);
  }
  config.vocab_size = fields.integer("vocab_size");
  config.dtype = dtype_named(fields);
  config.bos_token_id = fields.optional_integer("bos_token_id");
  config.eos_token_id = fields.optional_integer("eos_token_id");
  TORCH_CHECK(config.hidden_size > 0 && config.num_layers > 0 && config.num_heads > 0 && config.num_kv_heads > 0 &&
                  config.num_heads % config.num_kv_heads == 0 && config.vocab_size > 0 && config.intermediate_size > 0,
              fields.path(), ": sizes must be positive and num_key_value_heads must divide num_attention_heads");
  if (config.head_dim == 0) {
    TORCH_CHECK(config.hidden_size % config.num_heads == 0, fields.path(), ": hidden size ", config.hidden_size,
                " is not a multiple of the ", config.num_heads, " heads (and no head_dim is given)");
    config.head_dim = config.hidden_size / config.num_heads;
  }
  TORCH_CHECK(config.model_type == "gpt2" || config.head_dim % 2 == 0, fields.path(),
              ": rotary positions need an even head_dim, got ", config.head_dim);
  read_sliding_windows(fields, config);
  return config;
}

}  // namespace attention
