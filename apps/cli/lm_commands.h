#pragma once
// The commands of Hugging Face model folders (apps/lm/): `attention tokenize`, `attention generate` and the
// --model form of `attention heatmap`; their options and checks. Built with the models library
// (ATTENTION_BUILD_MODELS).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attention::app {

struct TokenizeCommand {
  std::string model;
  std::string text;
};

struct GenerateCommand {
  std::string model;
  std::string prompt;
  std::string prompts;
  int64_t max_new_tokens = 32;
  bool greedy = false;
  double temperature = 1.0;
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::string dtype = "float32";
  int threads = 0;
  const CLI::Option* prompt_option = nullptr;
  const CLI::Option* prompts_option = nullptr;
  std::vector<CLI::Option*> sampling;  ///< --temperature, --top-k, --top-p: any of them samples
};

/// `attention heatmap --model DIR --text TEXT --out DIR`.
struct ModelHeatmapCommand {
  std::string model;
  std::string text;
  const CLI::Option* model_option = nullptr;
};

/// Adds the `tokenize` and `generate` subcommands to `app`, their options bound to `command`.
CLI::App* add_tokenize_command(CLI::App& app, TokenizeCommand& command);
CLI::App* add_generate_command(CLI::App& app, GenerateCommand& command);
/// Adds --model and --text to the `heatmap` subcommand; --model excludes `others` (its other forms' options).
void add_model_heatmap_options(CLI::App& heatmap, ModelHeatmapCommand& command,
                               const std::vector<CLI::Option*>& others);

/// Run the commands: return 0; throw CLI::Error for usage errors (a prompt that is empty or not UTF-8, or
/// that the model's positions cannot hold with --max-new-tokens), std::exception for failures (c10::Error for
/// the model's folder and files, naming them).
int run_tokenize_command(const TokenizeCommand& command);
int run_generate_command(const GenerateCommand& command);
int run_model_heatmap_command(const ModelHeatmapCommand& command, const std::string& out);

}  // namespace attention::app
