#pragma once
// `attention train`: its options, for every task, and a run of it.

#include "induction/config.h"
#include "relations/config.h"
#include "training/task.h"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace attention::app {

/// The options of `attention train`. The options both tasks have (--heads, --dim, ...) set both configurations;
/// each task keeps its own defaults.
struct TrainCommand {
  std::string task = task_name(Task::Relations);  ///< --task; with --resume and no --task, the run's
  TrainConfig relations;
  InductionConfig induction;
  std::string model = model_kind_name(relations.model);  ///< --model, turned into relations.model by run_train
  std::string out;
  bool resume = false;
  bool quiet = false;
  int threads = 0;
  const CLI::Option* task_option = nullptr;        ///< --task, to tell whether it was given
  std::vector<const CLI::Option*> options;         ///< the model and data options, checked against a resumed run
  std::vector<const CLI::Option*> relations_only;  ///< options of --task relations alone
  std::vector<const CLI::Option*> induction_only;  ///< options of --task induction alone
};

/// Adds the `train` subcommand to `app`, its options bound to `command`.
CLI::App* add_train_command(CLI::App& app, TrainCommand& command);

/// Runs `attention train`: returns 0, or kExitInterrupted after Ctrl-C (the checkpoint saved). Throws
/// CLI::Error for usage errors (an option of the other task, an option that contradicts the run --resume
/// continues, a run of the other task), std::exception for failures.
int run_train(TrainCommand command);

}  // namespace attention::app
