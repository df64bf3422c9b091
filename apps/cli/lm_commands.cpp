#include "cli/lm_commands.h"

#include "cli/command_line.h"
#include "lm/generate.h"
#include "lm/heatmap.h"
#include "lm/model_folder.h"
#include "lm/tokenize.h"
#include "relations/words.h"

#include <attention/attention.h>

#include <cmath>
#include <iostream>

namespace attention::app {
namespace {

/// A number in (0, 1].
const CLI::Validator kProbability(
    [](const std::string& text) {
      try {
        size_t used = 0;
        const auto value = std::stod(text, &used);
        if (used == text.size() && value > 0 && value <= 1) {
          return std::string();
        }
      } catch (const std::exception&) {
      }
      return "must be a number in (0, 1], got '" + printable(text) + "'";
    },
    "(0,1]");

/// A text of the command line must be UTF-8 and not empty: CLI::ValidationError naming `option` otherwise.
void check_text(const std::string& option, const std::string& text) {
  if (text.empty()) {
    throw CLI::ValidationError(option, "is empty");
  }
  if (const auto problem = text_problem(text); !problem.empty()) {
    throw CLI::ValidationError(option, problem);
  }
}

/// Runs `run`, turning an OptionError (a value that does not fit the model) into the usage error it is.
template <typename Run>
void run_with_usage_errors(Run&& run) {
  try {
    run();
  } catch (const OptionError& error) {
    throw CLI::ValidationError(error.option, error.what());
  }
}

torch::ScalarType dtype_named(const std::string& name) {
  return name == "bfloat16" ? torch::kBFloat16 : name == "float16" ? torch::kHalf : torch::kFloat;
}

}  // namespace

CLI::App* add_tokenize_command(CLI::App& app, TokenizeCommand& command) {
  auto* tokenize = app.add_subcommand(
      "tokenize", "Print the token ids of a text by the tokenizer of a Hugging Face model folder, on one line");
  // Folders are not checked here: one that is missing is a failure (exit code 1), found when it is read.
  tokenize
      ->add_option("--model", command.model,
                   "Model folder with the tokenizer's files: tokenizer.json, or vocab.json and merges.txt (the "
                   "weights are not read)")
      ->required();
  tokenize->add_option("--text", command.text, "Text (UTF-8); no BOS is added")->required();
  return tokenize;
}

CLI::App* add_generate_command(CLI::App& app, GenerateCommand& command) {
  auto* generate = app.add_subcommand(
      "generate",
      "Continue a prompt with a Hugging Face model (GPT-2, Llama, Mistral, Qwen2, Qwen3), streaming the text as it "
      "is generated; or every line of a file as one batch");
  generate->add_option("--model", command.model, "Model folder: config.json, the weights and the tokenizer's files")
      ->required();
  auto* prompt = generate->add_option("--prompt", command.prompt,
                                      "Prompt (UTF-8); its continuation is printed as it comes, without the prompt");
  auto* prompts = generate->add_option(
      "--prompts", command.prompts,
      "File of prompts, one a line, generated as one batch: each continuation on its own line, in order, with "
      "backslashes, newlines and carriage returns written \\\\, \\n and \\r");
  prompt->excludes(prompts);
  command.prompt_option = prompt;
  command.prompts_option = prompts;
  generate->add_option("--max-new-tokens", command.max_new_tokens, "Tokens to generate at most (fewer at the EOS)")
      ->check(kPositiveInteger)
      ->capture_default_str();
  auto* greedy = generate->add_flag("--greedy", command.greedy, "The most likely token each step (the default)");
  command.sampling = {
      generate->add_option("--temperature", command.temperature, "Sample, at this temperature (default 1)")
          ->check(kPositiveNumber),
      generate->add_option("--top-k", command.top_k, "Sample among the k most likely tokens (default: all)")
          ->check(kPositiveInteger),
      generate
          ->add_option("--top-p", command.top_p,
                       "Sample among the most likely tokens whose probabilities sum to p (default 1: all)")
          ->check(kProbability)};
  for (auto* option : command.sampling) {
    greedy->excludes(option);
  }
  generate
      ->add_option("--seed", command.seed,
                   "Seed of sampling: the same seed gives the same text (each prompt of a batch its own)")
      ->capture_default_str();
  generate->add_option("--dtype", command.dtype, "The weights' dtype, converted from the file's")
      ->check(CLI::IsMember({"float32", "bfloat16", "float16"}))
      ->capture_default_str();
  generate->add_option("--threads", command.threads, "CPU threads (default: LibTorch's, one per core)")
      ->check(kPositiveInteger);
  return generate;
}

void add_model_heatmap_options(CLI::App& heatmap, ModelHeatmapCommand& command,
                               const std::vector<CLI::Option*>& others) {
  auto* model = heatmap.add_option(
      "--model", command.model,
      "Hugging Face model folder: draw its attention on --text into the folder --out (model_view.png, "
      "layer_NN.png)");
  for (auto* other : others) {
    model->excludes(other);
  }
  heatmap.add_option("--text", command.text, "Text to draw the attention of --model on (UTF-8)")->needs(model);
  command.model_option = model;
}

int run_tokenize_command(const TokenizeCommand& command) {
  if (const auto problem = text_problem(command.text); !problem.empty()) {
    throw CLI::ValidationError("--text", problem);
  }
  run_tokenize(command.model, command.text, std::cout);
  return 0;
}

int run_generate_command(const GenerateCommand& command) {
  if (command.prompt_option->count() == 0 && command.prompts_option->count() == 0) {
    throw CLI::RequiredError("--prompt (or --prompts)");
  }
  if (command.prompt_option->count() > 0) {
    check_text("--prompt", command.prompt);
  } else if (command.prompts.empty()) {
    throw CLI::ValidationError("--prompts", "is empty: it names a file of prompts, one a line");
  }
  bool sampling = false;
  for (const auto* option : command.sampling) {
    sampling = sampling || option->count() > 0;
  }
  if (command.threads > 0) {
    attention::set_num_threads(command.threads);
  }
  GenerateSettings settings;
  settings.model_dir = command.model;
  settings.prompt = command.prompt;
  settings.prompts_file = command.prompts;
  settings.dtype = dtype_named(command.dtype);
  settings.generation.max_new_tokens(command.max_new_tokens)
      .greedy(!sampling)
      .temperature(command.temperature)
      .top_k(command.top_k)
      .top_p(command.top_p)
      .seed(command.seed);
  run_with_usage_errors([&] { run_generate(settings, std::cout); });
  return 0;
}

int run_model_heatmap_command(const ModelHeatmapCommand& command, const std::string& out) {
  if (command.text.empty()) {
    throw CLI::RequiredError("--text (with --model)");
  }
  if (out.empty()) {
    throw CLI::RequiredError("--out (a folder, with --model)");
  }
  check_text("--text", command.text);
  std::vector<std::string> files;
  run_with_usage_errors([&] { files = run_model_heatmap(command.model, command.text, out); });
  std::cout << "Wrote in " << out << ":";
  for (const auto& file : files) {
    std::cout << " " << file;
  }
  std::cout << "\n";
  return 0;
}

}  // namespace attention::app
