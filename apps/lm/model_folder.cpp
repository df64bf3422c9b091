#include "lm/model_folder.h"

#include <c10/util/Exception.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

/// Whether `dir`/tokenizer_config.json names a bos_token. The tokenizer's bos_id() cannot tell: without one it
/// falls back to <|endoftext|>, which GPT-2 and Qwen2 do not prepend. (load_tokenizer has read and checked the file.)
bool names_bos_token(const std::string& dir) {
  std::ifstream file(fs::path(dir) / "tokenizer_config.json");
  if (!file) {
    return false;
  }
  const auto config = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  return config.is_object() && config.contains("bos_token") && !config["bos_token"].is_null();
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
  const auto bos = names_bos_token(dir) && config.bos_token_id ? tokenizer.bos_id() : std::nullopt;
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
