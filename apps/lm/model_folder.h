#pragma once
// A Hugging Face model folder for the commands of this room (tokenize, generate, heatmap --model): its tokenizer
// and model loaded with progress on stderr, the ids a prompt is given to the model as, and tokens as labels.

#include <attention/models.h>
#include <attention/tokenizer.h>

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace attention::app {

/// A value of the command line that does not fit the model it is used with (a prompt longer than its positions):
/// a usage error naming `option`, which the command line turns into its own.
struct OptionError : std::invalid_argument {
  OptionError(std::string option, const std::string& message)
      : std::invalid_argument(message), option(std::move(option)) {}
  std::string option;
};

/// A model folder's model and tokenizer.
struct LanguageModel {
  CausalLM model;
  Tokenizer tokenizer;
  /// Prepended to every prompt, as Hugging Face's tokenizer does: the special token tokenizer.json's
  /// post-processor begins a text with (Llama 3), or the BOS with add_bos_token; none otherwise (GPT-2, Qwen2).
  std::optional<int64_t> bos;
};

/// Loads the tokenizer and the model of `dir` (weights converted to `dtype`), a line of progress on stderr for
/// each file. Throws c10::Error naming the folder or the file for a bad folder, a missing or damaged file or a
/// shape that does not fit config.json (the library's errors), and for a tokenizer with more tokens than the
/// model has embeddings (the tokenizer files of another model).
LanguageModel load_language_model(const std::string& dir, torch::ScalarType dtype);

/// The ids `text` is given to the model as: the BOS (if any), then the tokenizer's ids of the text.
std::vector<int64_t> prompt_ids(const LanguageModel& lm, const std::string& text);

/// A token as a label of a picture: its text decoded alone, newlines and tabs shown as \n and \t.
std::string token_label(const Tokenizer& tokenizer, int64_t id);

}  // namespace attention::app
