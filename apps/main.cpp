// The `attention` command-line program.
// Exit codes: 0 success, 1 failure (bad data, a file that cannot be written, ...), 2 usage error.
#include "explain.h"
#include "figures.h"
#include "relation_data.h"
#include "trainer.h"
#include "words.h"

#include <attention/version.h>

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <ctime>
#include <iomanip>
#include <iostream>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) {
  g_stop_requested.store(true);
}

struct TrainCommand {
  attention::app::TrainConfig config;
  std::string model = attention::app::model_kind_name(config.model);  ///< --model, turned into config.model
  std::string out;
  bool resume = false;
  bool quiet = false;
  int threads = 0;
  std::vector<const CLI::Option*> options;  ///< the model and data options, checked against a resumed run
};

struct PredictCommand {
  std::string checkpoint;
  std::string sentence;
  std::string query;
};

struct HeatmapCommand {
  std::string checkpoint;
  std::string sentence;
  std::string out;
  bool weights = false;
};

/// A whole number >= 1, with a message that says so (CLI::PositiveNumber prints a range up to DBL_MAX).
const CLI::Validator kPositiveInteger(
    [](const std::string& text) {
      try {
        size_t used = 0;
        const auto value = std::stoll(text, &used);
        if (used == text.size() && value >= 1) {
          return std::string();
        }
      } catch (const std::exception&) {
      }
      return "must be a whole number >= 1, got '" + attention::app::printable(text) + "'";
    },
    "INT>=1");

/// A finite number > 0.
const CLI::Validator kPositiveNumber(
    [](const std::string& text) {
      try {
        size_t used = 0;
        const auto value = std::stod(text, &used);
        if (used == text.size() && std::isfinite(value) && value > 0) {
          return std::string();
        }
      } catch (const std::exception&) {
      }
      return "must be a finite number > 0, got '" + attention::app::printable(text) + "'";
    },
    "NUMBER>0");

/// The words of a sentence given on the command line, or a usage error naming `option`.
std::vector<std::string> words_of(const std::string& option, const std::string& text) {
  if (const auto problem = attention::app::text_problem(text); !problem.empty()) {
    throw CLI::ValidationError(option, problem);
  }
  auto words = attention::app::split_words(text);
  if (words.size() > attention::app::kMaxWords) {
    throw CLI::ValidationError(option, "has " + std::to_string(words.size()) + " words, more than the limit of " +
                                           std::to_string(attention::app::kMaxWords));
  }
  return words;
}

std::string timestamped_run_dir() {
  const auto now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::ostringstream name;
  name << "runs/" << std::put_time(&local, "%Y%m%d-%H%M%S");
  return name.str();
}

/// Prints one line per epoch: redrawn in place on a terminal, every tenth of the run otherwise.
std::function<void(const attention::app::EpochReport&)> progress_printer(bool quiet) {
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  return [quiet, terminal](const attention::app::EpochReport& report) {
    if (quiet) {
      return;
    }
    const bool last = report.epoch == report.epochs;
    if (!terminal && !last && report.epoch % std::max<int64_t>(1, report.epochs / 10) != 0) {
      return;
    }
    constexpr int kBarWidth = 24;
    const auto filled = static_cast<int>(kBarWidth * report.epoch / report.epochs);
    std::ostringstream line;
    line << "epoch " << std::setw(3) << report.epoch << "/" << report.epochs << " ["
         << std::string(filled, '#') << std::string(kBarWidth - filled, '.') << "] loss " << std::fixed
         << std::setprecision(4) << report.loss << "  train " << std::setprecision(1)
         << 100 * report.train_accuracy << "%  held-out " << 100 * report.test_accuracy << "%  "
         << std::setprecision(0) << report.examples_per_second << " examples/s";
    std::cerr << (terminal ? "\r" : "") << line.str() << (terminal && !last ? "" : "\n") << std::flush;
  };
}

attention::app::Split load_data(const attention::app::TrainConfig& config) {
  if (config.data.empty()) {
    if (!config.test_data.empty()) {
      throw CLI::ValidationError("--test-data", "needs --data");
    }
    return attention::app::generate_task(config.seed);
  }
  auto examples = attention::app::read_examples(config.data);
  if (config.test_data.empty()) {
    if (examples.size() < 2) {
      throw std::runtime_error(config.data + ": has 1 example; at least 2 are needed to hold some out (or give "
                                             "--test-data)");
    }
    return attention::app::split_examples(std::move(examples), config.seed);
  }
  return {std::move(examples), attention::app::read_examples(config.test_data)};
}

void print_summary(const nlohmann::json& metrics, const std::string& out_dir) {
  const auto row = [](const std::string& name, const nlohmann::json& values) {
    std::cout << "  " << std::left << std::setw(34) << name << std::right << std::fixed << std::setprecision(1)
              << std::setw(9) << 100 * values.at("train_accuracy").get<double>() << "%" << std::setw(9)
              << 100 * values.at("test_accuracy").get<double>() << "%" << std::setprecision(3) << std::setw(12)
              << values.at("attention_on_target").get<double>() << "\n";
  };
  const auto& model = metrics.at("model");
  std::cout << "\nWhich word does the query attend to? " << metrics.at("train_examples") << " training and "
            << metrics.at("test_examples") << " held-out examples, " << metrics.at("epochs") << " epochs, "
            << std::setprecision(1) << metrics.at("seconds").get<double>() << " s\n\n"
            << "  " << std::left << std::setw(34) << "model" << std::right << std::setw(10) << "train"
            << std::setw(10) << "held-out" << std::setw(12) << "attention" << "\n";
  row("baseline: similarity (no weights)", metrics.at("baseline"));
  row("trained: " + model.at("model").get<std::string>() + " W_q/W_k/W_v", metrics);
  std::cout << "\n  (attention: mean weight from the query to its target on held-out examples)\n"
            << "  Written to " << out_dir << ": checkpoint.pt, metrics.json\n"
            << "  Pictures:";
  const auto config = model.get<attention::app::TrainConfig>();
  for (const auto& file : attention::app::training_picture_files(config, metrics.at("epochs").get<int64_t>() > 0)) {
    std::cout << " " << file;
  }
  std::cout << "\n";
}

int run_train(TrainCommand command) {
  // Default: one thread. The model is tiny, and OpenMP's overhead on its many small operations outweighs the
  // gain: 0.76 s with 1 thread, 3.1 s with 2 on a 2-core machine (`attention train --threads N`).
  attention::set_num_threads(command.threads > 0 ? command.threads : 1);
  if (command.resume) {
    if (command.out.empty()) {
      throw CLI::ValidationError("--resume", "needs --out DIR of the run to continue");
    }
    const auto stored = attention::app::read_checkpoint_config(command.out);
    // A resumed run continues as it was configured: an option given again must say the same.
    const nlohmann::json given = command.config, kept = stored;
    for (const auto* option : command.options) {
      auto key = option->get_name().substr(2);
      std::replace(key.begin(), key.end(), '-', '_');
      if (option->count() > 0 && kept.contains(key) && given.at(key) != kept.at(key)) {
        throw CLI::ValidationError(option->get_name(), "is " + given.at(key).dump() + " but the run in " +
                                                           command.out + " has " + kept.at(key).dump() +
                                                           "; --resume continues a run as it was configured");
      }
    }
    command.config = stored;
  }
  const auto out_dir = command.out.empty() ? timestamped_run_dir() : command.out;
  const auto split = load_data(command.config);
  std::signal(SIGINT, request_stop);
  const auto metrics = attention::app::train(command.config, split, out_dir, command.resume, g_stop_requested,
                                             progress_printer(command.quiet));
  if (metrics.empty()) {
    std::cerr << "\nattention: interrupted; checkpoint saved in " << out_dir << " (continue with --resume --out "
              << out_dir << ")\n";
    return kExitInterrupted;
  }
  if (!command.quiet) {
    print_summary(metrics, out_dir);
  }
  return 0;
}

int run_predict(const PredictCommand& command) {
  const auto words = words_of("--sentence", command.sentence);
  const auto query_words = words_of("--query", command.query);
  const auto found = query_words.size() == 1 ? std::find(words.begin(), words.end(), query_words[0]) : words.end();
  if (words.size() < 2 || found == words.end()) {
    throw CLI::ValidationError("--query", "'" + attention::app::printable(command.query) +
                                              "' is not a word of a sentence of 2 or more words");
  }
  auto loaded = attention::app::load_model(command.checkpoint);
  const auto query = static_cast<int64_t>(found - words.begin());
  const auto attention = attention::app::attention_of(loaded, words, query);
  const auto predicted = attention.argmax().item<int64_t>();
  std::cout << "query: " << words[query] << "\npredicted target: " << words[predicted] << "\n\n";
  for (size_t i = 0; i < words.size(); ++i) {
    const auto weight = attention[static_cast<int64_t>(i)].item<double>();
    std::cout << "  " << std::left << std::setw(14) << words[i] << std::right << std::fixed << std::setprecision(3)
              << std::setw(7) << weight << "  " << std::string(static_cast<size_t>(std::lround(weight * 40)), '#')
              << (static_cast<int64_t>(i) == query ? "(query)" : "")
              << (loaded.vocabulary.id(words[i]) == attention::app::Vocabulary::kUnknown ? " (unknown word)" : "")
              << "\n";
  }
  return 0;
}

int run_heatmap(const HeatmapCommand& command) {
  const auto words = words_of("--sentence", command.sentence);
  if (!command.weights && words.size() < 2) {
    throw CLI::ValidationError("--sentence",
                               "needs 2 or more words, got '" + attention::app::printable(command.sentence) + "'");
  }
  auto loaded = attention::app::load_model(command.checkpoint);
  if (command.weights) {
    const auto out = command.out.empty() ? std::string("weights.png") : command.out;
    attention::app::write_weights_picture(out, loaded);
    std::cout << "Wrote " << out << "\n";
    return 0;
  }
  const auto out = command.out.empty() ? std::string("heatmap.png") : command.out;
  attention::app::write_sentence_heatmap(out, loaded, words);
  std::cout << "Wrote " << out << "\n";
  return 0;
}

struct ExplainCommand {
  std::string sentence;
  std::string query;
  std::string out;
  uint64_t seed = attention::app::ExplainOptions{}.seed;
};

attention::app::ExplainOptions explain_options(const ExplainCommand& command) {
  attention::app::ExplainOptions options;
  options.seed = command.seed;
  options.out_dir = command.out;
  if (!command.sentence.empty()) {
    options.words = words_of("--sentence", command.sentence);
    if (options.words.empty()) {
      throw CLI::ValidationError("--sentence", "has no words");
    }
  }
  if (!command.query.empty()) {
    const auto words = options.words.empty() ? attention::app::split_words("Your journey starts with one step")
                                             : options.words;
    const auto query = words_of("--query", command.query);
    const auto found = query.size() == 1 ? std::find(words.begin(), words.end(), query[0]) : words.end();
    if (found == words.end()) {
      throw CLI::ValidationError("--query", "'" + attention::app::printable(command.query) +
                                                "' is not a word of the sentence");
    }
    options.query_index = static_cast<size_t>(found - words.begin());
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attention: attention mechanisms you can train and look at"};
  app.set_version_flag("--version", std::string("attention ") + ATTENTION_VERSION_STRING);
  app.require_subcommand(1);

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
  auto& config = train.config;
  auto* train_command = app.add_subcommand(
      "train", "Train attention to find the word a query relates to (warm -> mat), against a similarity baseline");
  train_command->add_option("--data", config.data, "Training examples: sentence<TAB>query<TAB>target per line")
      ->check(CLI::ExistingFile);
  train_command->add_option("--test-data", config.test_data, "Held-out examples (default: a seeded split of --data)")
      ->check(CLI::ExistingFile);
  train_command->add_option("--model", train.model, "Attention layer")
      ->check(CLI::IsMember(attention::app::model_kind_names()))
      ->capture_default_str();
  train_command->add_option("--heads", config.heads, "Heads of --model multihead")
      ->check(kPositiveInteger)
      ->capture_default_str();
  train_command->add_option("--dim", config.dim, "Embedding and attention width")
      ->check(kPositiveInteger)
      ->capture_default_str();
  train_command->add_option("--epochs", config.epochs, "Passes over the training data")
      ->check(kPositiveInteger)
      ->capture_default_str();
  train_command->add_option("--batch-size", config.batch_size, "Examples per step")
      ->check(kPositiveInteger)
      ->capture_default_str();
  train_command->add_option("--lr", config.lr, "Adam learning rate")->check(kPositiveNumber)->capture_default_str();
  train_command->add_option("--seed", config.seed, "Seed of data, embeddings, weights and batch order")
      ->capture_default_str();
  train_command->add_flag("--train-embeddings", config.train_embeddings, "Let the word embeddings learn too");
  train_command->add_option("--threads", train.threads, "CPU threads (default: 1, fastest for this small model)")
      ->check(kPositiveInteger);
  train_command->add_option("--out", train.out, "Output folder (default: runs/<timestamp>)");
  for (const auto* name : {"--data", "--test-data", "--model", "--heads", "--dim", "--epochs", "--batch-size", "--lr",
                           "--seed", "--train-embeddings"}) {
    train.options.push_back(train_command->get_option(name));
  }
  train_command->add_flag("--resume", train.resume, "Continue the run in --out from its checkpoint");
  train_command->add_flag("--quiet", train.quiet, "Print nothing but errors");

  PredictCommand predict;
  auto* predict_command =
      app.add_subcommand("predict", "Show which word a query attends to, with a trained checkpoint");
  predict_command->add_option("--checkpoint", predict.checkpoint, "Folder of a training run")
      ->required()
      ->check(CLI::ExistingDirectory);
  predict_command->add_option("--sentence", predict.sentence, "Sentence")->required();
  predict_command->add_option("--query", predict.query, "Query word of the sentence")->required();

  HeatmapCommand heatmap;
  auto* heatmap_command = app.add_subcommand(
      "heatmap", "Draw the attention of every word of a sentence (or the weights) of a trained checkpoint as PNG");
  heatmap_command->add_option("--checkpoint", heatmap.checkpoint, "Folder of a training run")
      ->required()
      ->check(CLI::ExistingDirectory);
  auto* sentence_option = heatmap_command->add_option("--sentence", heatmap.sentence, "Sentence to draw");
  heatmap_command->add_option("--out", heatmap.out,
                              "Picture file (PNG; default heatmap.png, or weights.png with --weights)");
  heatmap_command->add_flag("--weights", heatmap.weights, "Draw the attention layer's W_q, W_k, W_v (W_o) instead")
      ->excludes(sentence_option);

  if (argc > 1 && argv[1][0] != '-' &&
      app.get_subcommands([&](CLI::App* command) { return command->get_name() == argv[1]; }).empty()) {
    std::cerr << "attention: unknown command '" << attention::app::printable(argv[1])
              << "' (the commands are explain, train, predict and heatmap)\nRun with --help for more information.\n";
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
    if (heatmap_command->parsed()) {
      if (!heatmap.weights && heatmap.sentence.empty()) {
        throw CLI::RequiredError("--sentence (or --weights)");
      }
      return run_heatmap(heatmap);
    }
    if (train_command->parsed()) {
      config.model = attention::app::model_kind_from_name(train.model);
      if (config.model == attention::app::ModelKind::MultiHead && config.dim % config.heads != 0) {
        throw CLI::ValidationError("--heads", std::to_string(config.heads) + " does not divide --dim " +
                                                  std::to_string(config.dim));
      }
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
