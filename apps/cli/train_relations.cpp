// `attention train --task relations`: the data, the model, its training against the similarity baseline, the
// pictures and the summary.
#include "cli/command_line.h"
#include "cli/train_run.h"
#include "relations/data.h"
#include "relations/model.h"
#include "relations/pictures.h"
#include "relations/trainer.h"

#include <iomanip>
#include <iostream>
#include <sstream>

namespace attention::app {
namespace {

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
  std::cout << "\n  (attention: mean weight from the query to its target on held-out examples)\n";
  print_files(out_dir, pictures);
}

}  // namespace

int run_relations(const TrainConfig& config, const RunSettings& settings, DataParallel& ranks) {
  const auto split = load_data(config);
  auto model = built_or_usage_error(config.dim, config.heads, [&] { return model_for(config, split); });
  auto learning = watch_example(split);
  const auto progress = progress_line(settings.quiet);
  const auto report = [progress](const EpochReport& epoch) {
    std::ostringstream values;
    values << "loss " << std::fixed << std::setprecision(4) << epoch.loss << "  train " << std::setprecision(1)
           << 100 * epoch.train_accuracy << "%  held-out " << 100 * epoch.test_accuracy << "%  " << std::setprecision(0)
           << epoch.examples_per_second << " examples/s";
    progress("", epoch.epoch, epoch.epochs, values.str());
  };
  const auto run = train(model, split, settings.out_dir, settings.resume, stop_on_ctrl_c(),
                         ranks.is_first() ? capture_frames(learning, report) : TrainCallbacks{}, ranks);
  if (!ranks.is_first()) {
    return run ? 0 : kExitInterrupted;
  }
  if (!run) {
    return interrupted(settings.out_dir);
  }
  const auto pictures = write_training_pictures(settings.out_dir, *run, split, learning);
  if (!settings.quiet) {
    print_summary(run->metrics, settings.out_dir, pictures);
  }
  return 0;
}

}  // namespace attention::app
