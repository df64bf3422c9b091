#include "train_command.h"

#include "checkpoint.h"
#include "command_line.h"
#include "relation_checkpoint.h"
#include "relation_data.h"
#include "relation_model.h"
#include "relation_trainer.h"
#include "run_folder.h"
#include "run_pictures.h"

#include <c10/util/Exception.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace attention::app {
namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) { g_stop_requested.store(true); }

std::string timestamped_run_dir() {
  const auto now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::ostringstream name;
  name << "runs/" << std::put_time(&local, "%Y%m%d-%H%M%S");
  return name.str();
}

/// A resumed run continues as it was configured: an option given again must say what the run's checkpoint says.
void check_resumed_options(const TrainCommand& command, const TrainConfig& stored) {
  const nlohmann::json given = command.config, kept = stored;
  for (const auto* option : command.options) {
    auto key = option->get_name().substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    if (option->count() > 0 && kept.contains(key) && given.at(key) != kept.at(key)) {
      throw CLI::ValidationError(option->get_name(), "is " + given.at(key).dump() + " but the run in " + command.out +
                                                         " has " + kept.at(key).dump() +
                                                         "; --resume continues a run as it was configured");
    }
  }
}

/// The model of the options, built before anything is written: options the attention layer refuses (heads that
/// do not divide the width) are a usage error, in the library's words.
RelationModel model_of_options(const TrainConfig& config, const Split& split) {
  try {
    return model_for(config, split);
  } catch (const c10::Error& error) {
    throw CLI::ValidationError("--dim " + std::to_string(config.dim) + " --heads " + std::to_string(config.heads),
                               error.what_without_backtrace());
  }
}

/// Prints one line per epoch: redrawn in place on a terminal, every tenth of the run otherwise.
std::function<void(const EpochReport&)> progress_printer(bool quiet) {
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  return [quiet, terminal](const EpochReport& report) {
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
    line << "epoch " << std::setw(3) << report.epoch << "/" << report.epochs << " [" << std::string(filled, '#')
         << std::string(kBarWidth - filled, '.') << "] loss " << std::fixed << std::setprecision(4) << report.loss
         << "  train " << std::setprecision(1) << 100 * report.train_accuracy << "%  held-out "
         << 100 * report.test_accuracy << "%  " << std::setprecision(0) << report.examples_per_second << " examples/s";
    std::cerr << (terminal ? "\r" : "") << line.str() << (terminal && !last ? "" : "\n") << std::flush;
  };
}

Split load_data(const TrainConfig& config) {
  if (config.data.empty()) {
    if (!config.test_data.empty()) {
      throw CLI::ValidationError("--test-data", "needs --data");
    }
    return generate_task(config.seed);
  }
  auto examples = read_examples(config.data);
  if (config.test_data.empty()) {
    if (examples.size() < 2) {
      throw std::runtime_error(config.data +
                               ": has 1 example; at least 2 are needed to hold some out (or give --test-data)");
    }
    return split_examples(std::move(examples), config.seed);
  }
  return {std::move(examples), read_examples(config.test_data)};
}

void print_summary(const Metrics& metrics, const std::string& out_dir, const std::vector<std::string>& pictures) {
  const auto row = [](const std::string& name, const Scores& scores) {
    std::cout << "  " << std::left << std::setw(34) << name << std::right << std::fixed << std::setprecision(1)
              << std::setw(9) << 100 * scores.train_accuracy << "%" << std::setw(9) << 100 * scores.test_accuracy << "%"
              << std::setprecision(3) << std::setw(12) << scores.attention_on_target << "\n";
  };
  std::cout << "\nWhich word does the query attend to? " << metrics.train_examples << " training and "
            << metrics.test_examples << " held-out examples, " << metrics.epochs << " epochs, " << std::setprecision(1)
            << metrics.seconds << " s\n\n"
            << "  " << std::left << std::setw(34) << "model" << std::right << std::setw(10) << "train" << std::setw(10)
            << "held-out" << std::setw(12) << "attention"
            << "\n";
  row("baseline: similarity (no weights)", metrics.baseline);
  row("trained: " + model_kind_name(metrics.model.model) + " W_q/W_k/W_v", metrics);
  std::cout << "\n  (attention: mean weight from the query to its target on held-out examples)\n"
            << "  Written to " << out_dir << ": " << kCheckpointFile << ", " << kMetricsFile << "\n"
            << "  Pictures:";
  for (const auto& file : pictures) {
    std::cout << " " << file;
  }
  std::cout << "\n";
}

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainCommand& command) {
  auto& config = command.config;
  auto* train = app.add_subcommand(
      "train", "Train attention to find the word a query relates to (warm -> mat), against a similarity baseline");
  // Files are not checked here: one that is missing is a failure (exit code 1), found when it is read.
  train->add_option("--data", config.data, "Training examples: sentence<TAB>query<TAB>target per line");
  train->add_option("--test-data", config.test_data, "Held-out examples (default: a seeded split of --data)");
  train->add_option("--model", command.model, "Attention layer")
      ->check(CLI::IsMember(model_kind_names()))
      ->capture_default_str();
  // Whole numbers >= 1, their defaults shown in --help.
  const auto add_count = [train](const std::string& name, int64_t& value, const std::string& description) {
    train->add_option(name, value, description)->check(kPositiveInteger)->capture_default_str();
  };
  add_count("--heads", config.heads, "Heads of --model multihead");
  add_count("--dim", config.dim, "Embedding and attention width");
  add_count("--epochs", config.epochs, "Passes over the training data");
  add_count("--batch-size", config.batch_size, "Examples per step");
  train->add_option("--lr", config.lr, "Adam learning rate")->check(kPositiveNumber)->capture_default_str();
  train->add_option("--seed", config.seed, "Seed of data, embeddings, weights and batch order")->capture_default_str();
  train->add_flag("--train-embeddings", config.train_embeddings, "Let the word embeddings learn too");
  train->add_option("--threads", command.threads, "CPU threads (default: 1, fastest for this small model)")
      ->check(kPositiveInteger);
  train->add_option("--out", command.out, "Output folder (default: runs/<timestamp>)");
  for (const auto* name : {"--data", "--test-data", "--model", "--heads", "--dim", "--epochs", "--batch-size", "--lr",
                           "--seed", "--train-embeddings"}) {
    command.options.push_back(train->get_option(name));
  }
  train->add_flag("--resume", command.resume, "Continue the run in --out from its checkpoint");
  train->add_flag("--quiet", command.quiet, "Print nothing but errors");
  return train;
}

int run_train(TrainCommand command) {
  // One thread unless --threads says otherwise: the model is tiny, and OpenMP's overhead on its many small
  // operations outweighs what more threads gain.
  attention::set_num_threads(command.threads > 0 ? command.threads : 1);
  command.config.model = model_kind_from_name(command.model);
  if (command.resume) {
    if (command.out.empty()) {
      throw CLI::ValidationError("--resume", "needs --out DIR of the run to continue");
    }
    const auto stored = read_checkpoint_config(command.out);
    check_resumed_options(command, stored);
    command.config = stored;
  }
  const auto out_dir = command.out.empty() ? timestamped_run_dir() : command.out;
  const auto split = load_data(command.config);
  auto model = model_of_options(command.config, split);
  auto learning = watch_example(split);
  std::signal(SIGINT, request_stop);
  const auto run = train(model, split, out_dir, command.resume, g_stop_requested,
                         capture_frames(learning, progress_printer(command.quiet)));
  if (!run) {
    std::cerr << "\nattention: interrupted; checkpoint saved in " << out_dir << " (continue with --resume --out "
              << out_dir << ")\n";
    return kExitInterrupted;
  }
  const auto pictures = write_training_pictures(out_dir, *run, split, learning);
  if (!command.quiet) {
    print_summary(run->metrics, out_dir, pictures);
  }
  return 0;
}

}  // namespace attention::app
