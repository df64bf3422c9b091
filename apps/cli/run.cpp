// The `attention` command-line program: its commands, and the exit codes of command_line.h.
#include "cli/run.h"

#include "cli/command_line.h"
#ifdef ATTENTION_APP_MODELS
#include "cli/lm_commands.h"
#endif
#include "cli/train_command.h"
#include "induction/checkpoint.h"
#include "induction/pictures.h"
#include "relations/checkpoint.h"
#include "relations/model.h"
#include "relations/pictures.h"
#include "relations/words.h"
#include "training/checkpoint.h"
#include "views/explain.h"
#include "views/patterns.h"

#include <attention/version.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace {

using namespace attention::app;

struct PredictCommand {
  std::string checkpoint;
  std::string sentence;
  std::string query;
};

struct HeatmapCommand {
  std::string checkpoint;
  std::string sentence;
  std::string tokens;
  std::string out;
  bool weights = false;
  std::string pattern;
  PatternOptions pattern_sizes;
};

struct ExplainCommand {
  std::string sentence;
  std::string query;
  std::string out;
  uint64_t seed = ExplainOptions{}.seed;
};

/// Checks that the run in `dir` is of `task`: a CLI::ValidationError naming --checkpoint otherwise, with `hint`.
void expect_task(const std::string& dir, Task task, const std::string& hint) {
  const auto found = Checkpoint(checkpoint_path(dir)).task();
  if (found != task) {
    throw CLI::ValidationError("--checkpoint", dir + " holds a run of --task " + task_name(found) + ", not of --task " +
                                                   task_name(task) + "; " + hint);
  }
}

/// The token ids of --tokens ("3 17 5" or "3,17,5"), each below `vocabulary`, at most kMaxWords of them;
/// CLI::ValidationError otherwise.
std::vector<int64_t> tokens_of(const std::string& text, int64_t vocabulary) {
  auto spaced = text;
  std::replace(spaced.begin(), spaced.end(), ',', ' ');
  std::istringstream words(spaced);
  std::vector<int64_t> tokens;
  for (std::string word; words >> word;) {
    size_t used = 0;
    int64_t token = -1;
    try {
      token = std::stoll(word, &used);
    } catch (const std::exception&) {
    }
    if (used != word.size() || token < 0 || token >= vocabulary) {
      throw CLI::ValidationError("--tokens", "'" + printable(word) + "' is not a token id: the checkpoint's are 0 to " +
                                                 std::to_string(vocabulary - 1));
    }
    tokens.push_back(token);
  }
  if (tokens.size() < 2 || tokens.size() > kMaxWords) {
    throw CLI::ValidationError(
        "--tokens", "needs 2 to " + std::to_string(kMaxWords) + " token ids, got " + std::to_string(tokens.size()));
  }
  return tokens;
}

int run_predict(const PredictCommand& command) {
  const auto words = words_of("--sentence", command.sentence);
  const auto query_words = words_of("--query", command.query);
  const auto found = query_words.size() == 1 ? std::find(words.begin(), words.end(), query_words[0]) : words.end();
  if (words.size() < 2 || found == words.end()) {
    throw CLI::ValidationError("--query",
                               "'" + printable(command.query) + "' is not a word of a sentence of 2 or more words");
  }
  expect_task(command.checkpoint, Task::Relations, "predict answers with the relations task's models");
  auto model = load_model(command.checkpoint);
  const auto query = static_cast<int64_t>(found - words.begin());
  const auto attention = model->query_attention(words, query);
  const auto predicted = attention.argmax().item<int64_t>();
  std::cout << "query: " << words[query] << "\npredicted target: " << words[predicted] << "\n\n";
  for (size_t i = 0; i < words.size(); ++i) {
    const auto weight = attention[static_cast<int64_t>(i)].item<double>();
    std::cout << "  " << std::left << std::setw(14) << words[i] << std::right << std::fixed << std::setprecision(3)
              << std::setw(7) << weight << "  " << std::string(static_cast<size_t>(std::lround(weight * 40)), '#')
              << (static_cast<int64_t>(i) == query ? "(query)" : "")
              << (model->vocabulary.id(words[i]) == Vocabulary::kUnknown ? " (unknown word)" : "") << "\n";
  }
  return 0;
}

int run_heatmap(const HeatmapCommand& command) {
  if (!command.pattern.empty()) {
    auto options = command.pattern_sizes;
    try {
      options.pattern = pattern_named(command.pattern);
      pattern_weights(options);  // checks the sizes
    } catch (const std::invalid_argument& error) {
      throw CLI::ValidationError("--pattern", error.what());
    }
    const auto out = !command.out.empty() ? command.out : command.pattern + ".png";
    write_pattern_heatmap(out, options);
    std::cout << "Wrote " << out << "\n";
    return 0;
  }
  const auto out = !command.out.empty() ? command.out : command.weights ? "weights.png" : "heatmap.png";
  if (!command.tokens.empty()) {
    expect_task(command.checkpoint, Task::Induction, "draw it with --sentence or --weights");
    auto model = load_induction_models(command.checkpoint).model;
    write_model_view_of(
        out, model, tokens_of(command.tokens, model->config.vocabulary),
        "Model view of the trained model (" + layers_name(model->layer_count()) + ") in " + command.checkpoint);
    std::cout << "Wrote " << out << "\n";
    return 0;
  }
  const auto words = words_of("--sentence", command.sentence);
  if (!command.weights && words.size() < 2) {
    throw CLI::ValidationError("--sentence", "needs 2 or more words, got '" + printable(command.sentence) + "'");
  }
  expect_task(command.checkpoint, Task::Relations, "draw its model view with --tokens");
  auto model = load_model(command.checkpoint);
  if (command.weights) {
    write_weights_picture(out, model);
  } else {
    write_sentence_heatmap(out, model, words);
  }
  std::cout << "Wrote " << out << "\n";
  return 0;
}

ExplainOptions explain_options(const ExplainCommand& command) {
  ExplainOptions options;
  options.seed = command.seed;
  options.out_dir = command.out;
  if (!command.sentence.empty()) {
    options.words = words_of("--sentence", command.sentence);
    if (options.words.empty()) {
      throw CLI::ValidationError("--sentence", "has no words");
    }
  }
  if (!command.query.empty()) {
    const auto words = options.words.empty() ? split_words(kTutorialSentence) : options.words;
    const auto query = words_of("--query", command.query);
    const auto found = query.size() == 1 ? std::find(words.begin(), words.end(), query[0]) : words.end();
    if (found == words.end()) {
      throw CLI::ValidationError("--query", "'" + printable(command.query) + "' is not a word of the sentence");
    }
    options.query_index = static_cast<size_t>(found - words.begin());
  }
  return options;
}

}  // namespace

namespace attention::app {

int run_command_line(int argc, char** argv) {
  CLI::App app{"attention: attention mechanisms you can train and look at"};
  app.set_version_flag("--version", std::string("attention ") + ATTENTION_VERSION_STRING);
  app.require_subcommand(1);
#ifdef ATTENTION_APP_MODELS
  const std::string commands = "explain, train, predict, heatmap, tokenize and generate";
  constexpr bool models_built = true;
#else
  constexpr bool models_built = false;
  const std::string commands = "explain, train, predict and heatmap";
  app.footer(
      "This program was built without the models library (ATTENTION_BUILD_MODELS=OFF): the commands of "
      "Hugging Face models, tokenize, generate and heatmap --model, are absent.");
#endif

  ExplainCommand explain;
  auto* explain_command =
      app.add_subcommand("explain", "Print the math of attention step by step: scores, softmax, context vectors");
  explain_command->add_option("--sentence", explain.sentence,
                              "Sentence to explain (default: the tutorial's \"Your journey starts with one step\")");
  explain_command->add_option("--query", explain.query, "Word whose attention is followed (default: the second)");
  explain_command->add_option("--seed", explain.seed, "Seed of random embeddings and of W_q, W_k, W_v")
      ->capture_default_str();
  explain_command->add_option("--out", explain.out, "Folder for a picture of each step (PNG; created if missing)");

  TrainCommand train;
  auto* train_command = add_train_command(app, train);

  PredictCommand predict;
  auto* predict_command =
      app.add_subcommand("predict", "Show which word a query attends to, with a trained checkpoint");
  // The folder is not checked here: one that is missing is a failure (exit code 1), found when it is read.
  predict_command->add_option("--checkpoint", predict.checkpoint, "Folder of a training run")->required();
  predict_command->add_option("--sentence", predict.sentence, "Sentence")->required();
  predict_command->add_option("--query", predict.query, "Query word of the sentence")->required();

  HeatmapCommand heatmap;
  auto* heatmap_command = app.add_subcommand(
      "heatmap",
      "Draw the attention of every word of a sentence (or the weights) of a trained checkpoint as PNG; the model "
      "view of every layer and head on a sequence of tokens for a run of --task induction; an attention "
      "pattern (--pattern); or, with --model, every layer and head of a Hugging Face model on a text");
  auto* checkpoint_option = heatmap_command->add_option("--checkpoint", heatmap.checkpoint, "Folder of a training run");
  auto* sentence_option = heatmap_command->add_option("--sentence", heatmap.sentence, "Sentence to draw");
  auto* tokens_option = heatmap_command->add_option(
      "--tokens", heatmap.tokens, "Token ids (\"3 17 5 ...\"): the model view of a run of --task induction");
  heatmap_command->add_option(
      "--out", heatmap.out,
      "Picture file (PNG; default heatmap.png, weights.png with --weights, PATTERN.png); with --model, "
      "the folder of its pictures (created if missing)");
  auto* weights_flag =
      heatmap_command->add_flag("--weights", heatmap.weights, "Draw the attention layer's W_q, W_k, W_v (W_o) instead")
          ->excludes(sentence_option)
          ->excludes(tokens_option);
  tokens_option->excludes(sentence_option);
  auto* pattern_option =
      heatmap_command
          ->add_option("--pattern", heatmap.pattern,
                       "Draw what an attention pattern lets each token see, without a checkpoint: causal, local, "
                       "window (sliding), global (local + a global token) or alibi (a head grid)")
          ->excludes(checkpoint_option)
          ->excludes(sentence_option)
          ->excludes(weights_flag)
          ->excludes(tokens_option);
  heatmap_command->add_option("--length", heatmap.pattern_sizes.length, "Tokens of the --pattern")
      ->capture_default_str()
      ->needs(pattern_option);
  heatmap_command->add_option("--window", heatmap.pattern_sizes.window, "Window of the local, window, global --pattern")
      ->capture_default_str()
      ->needs(pattern_option);
  heatmap_command->add_option("--heads", heatmap.pattern_sizes.heads, "Heads of the alibi --pattern")
      ->capture_default_str()
      ->needs(pattern_option);
#ifdef ATTENTION_APP_MODELS
  ModelHeatmapCommand model_heatmap;
  add_model_heatmap_options(*heatmap_command, model_heatmap,
                            {checkpoint_option, sentence_option, tokens_option, weights_flag, pattern_option});

  TokenizeCommand tokenize;
  auto* tokenize_command = add_tokenize_command(app, tokenize);
  GenerateCommand generate;
  auto* generate_command = add_generate_command(app, generate);
#endif

  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* command) { return command->get_name() == argv[1]; }).empty()) {
    std::cerr << "attention: unknown command '" << printable(argv[1]) << "' (the commands are " << commands
              << ")\nRun with --help for more information.\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
#ifdef ATTENTION_APP_MODELS
    if (tokenize_command->parsed()) {
      return run_tokenize_command(tokenize);
    }
    if (generate_command->parsed()) {
      return run_generate_command(generate);
    }
    if (heatmap_command->parsed() && model_heatmap.model_option->count() > 0) {
      return run_model_heatmap_command(model_heatmap, heatmap.out);
    }
#endif
    if (heatmap_command->parsed()) {
      if (heatmap.pattern.empty() && heatmap.checkpoint.empty()) {
        throw CLI::RequiredError(models_built ? "--checkpoint (or --pattern, or --model)"
                                              : "--checkpoint (or --pattern)");
      }
      if (heatmap.pattern.empty() && !heatmap.weights && heatmap.sentence.empty() && heatmap.tokens.empty()) {
        throw CLI::RequiredError("--sentence (or --weights, or --tokens)");
      }
      return run_heatmap(heatmap);
    }
    if (train_command->parsed()) {
      return run_train(train);
    }
    if (predict_command->parsed()) {
      return run_predict(predict);
    }
    if (explain_command->parsed()) {
      attention::app::explain(explain_options(explain), std::cout);
    }
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::Error& error) {
    app.exit(error);  // prints the message and a hint to --help
    return kExitUsage;
  } catch (const c10::Error& error) {
    std::cerr << "attention: error: " << error.what_without_backtrace() << "\n";
    return kExitFailure;
  } catch (const std::exception& error) {
    std::cerr << "attention: error: " << error.what() << "\n";
    return kExitFailure;
  }
  return 0;
}

}  // namespace attention::app
