#pragma once
// `attention train`: its options, and a run of it.

#include "relation_config.h"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace attention::app {

/// The options of `attention train`.
struct TrainCommand {
  TrainConfig config;
  std::string model = model_kind_name(config.model);  ///< --model, turned into config.model by run_train
  std::string out;
  bool resume = false;
  bool quiet = false;
  int threads = 0;
  std::vector<const CLI::Option*> options;  ///< the model and data options, checked against a resumed run
};

/// Adds the `train` subcommand to `app`, its options bound to `command`.
CLI::App* add_train_command(CLI::App& app, TrainCommand& command);

/// Runs `attention train`: returns 0, or kExitInterrupted after Ctrl-C (the checkpoint saved). Throws
/// CLI::Error for usage errors, std::exception for failures.
int run_train(TrainCommand command);

}  // namespace attention::app
