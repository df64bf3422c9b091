#include "lm/model_folder.h"

#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

/// `dir`/`name` as JSON, or null when the file is absent or unreadable (load_tokenizer has read and checked them).
nlohmann::json json_file(const std::string& dir, const char* name) {
  std::ifstream file(fs::path(dir) / name);
  return file ? nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false) : nlohmann::json();
}

/// The special token that a TemplateProcessing post-processor puts before a single text, if any.
std::optional<std::string> template_prefix(const nlohmann::json& processor) {
  if (!processor.is_object()) {
    return std::nullopt;
  }
  if (processor.value("type", "") == "Sequence" && processor.contains("processors")) {
    for (const auto& inner : processor["processors"]) {
      if (auto prefix = template_prefix(inner)) {
        return prefix;
      }
    }
    return std::nullopt;
  }
  if (processor.value("type", "") != "TemplateProcessing" || !processor.contains("single") ||
      !processor["single"].is_array() || processor["single"].empty()) {
    return std::nullopt;
  }
  const auto& first = processor["single"].front();
  if (!first.is_object() || !first.contains("SpecialToken") || !first["SpecialToken"].contains("id")) {
    return std::nullopt;
  }
  return first["SpecialToken"]["id"].get<std::string>();
}

/// The token Hugging Face's tokenizer puts before a text: the one tokenizer.json's post-processor begins a single
/// text with (Llama 3's <|begin_of_text|>), or the BOS when tokenizer_config.json says add_bos_token; none
/// otherwise (GPT-2, Qwen2, SmolLM2).
std::optional<int64_t> bos_to_prepend(const std::string& dir, const Tokenizer& tokenizer) {
  const auto tokenizer_json = json_file(dir, "tokenizer.json");
  if (tokenizer_json.is_object() && tokenizer_json.contains("post_processor")) {
    if (const auto prefix = template_prefix(tokenizer_json["post_processor"])) {
      return tokenizer.token_to_id(*prefix);
    }
  }
  const auto config = json_file(dir, "tokenizer_config.json");
  const bool adds_bos = config.is_object() && config.value("add_bos_token", false);
  return adds_bos ? tokenizer.bos_id() : std::nullopt;
}

std::string dtype_name(torch::ScalarType dtype) {
  return dtype == torch::kFloat      ? "float32"
         : dtype == torch::kBFloat16 ? "bfloat16"
         : dtype == torch::kHalf     ? "float16"
                                     : c10::toString(dtype);
}

}  // namespace

LanguageModel load_language_model(const std::string& dir, torch::ScalarType dtype) {
  const auto start = std::chrono::steady_clock::now();
  std::cerr << "Loading " << dir << ": the tokenizer" << std::endl;
  auto tokenizer = load_tokenizer(dir);
  const auto progress = [&dir](const std::string& line) {
    std::cerr << "Loading " << dir << ": " << line << std::endl;
  };
  auto model = load_causal_lm(dir, CausalLMOptions().dtype(dtype).progress(progress));
  const auto& config = model.config();
  TORCH_CHECK(tokenizer.vocab_size() <= config.vocab_size, dir, ": the tokenizer has ", tokenizer.vocab_size(),
              " tokens but config.json's vocab_size is ", config.vocab_size,
              ": its tokenizer files are not this model's");
  const auto bos = bos_to_prepend(dir, tokenizer);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  std::cerr << "Loaded " << dir << ": " << config.model_type << ", " << config.num_layers << " layers of "
            << config.num_heads << " heads, " << dtype_name(model.dtype()) << ", in " << std::fixed
            << std::setprecision(1) << seconds.count() << " s" << std::defaultfloat << std::endl;
  return {std::move(model), std::move(tokenizer), bos};
}

std::vector<int64_t> prompt_ids(const LanguageModel& lm, const std::string& text) {
  std::vector<int64_t> ids;
  if (lm.bos) {
    ids.push_back(*lm.bos);
  }
  const auto tokens = lm.tokenizer.encode(text);
  ids.insert(ids.end(), tokens.begin(), tokens.end());
  return ids;
}

std::string token_label(const Tokenizer& tokenizer, int64_t id) {
  std::string label;
  for (const char c : tokenizer.decode({id})) {
    label += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
  }
  return label;
}

}  // namespace attention::app
