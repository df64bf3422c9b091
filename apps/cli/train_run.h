#pragma once
// A run of `attention train`, by task (train_relations.cpp, train_induction.cpp), and what those runs share:
// Ctrl-C, progress lines, the usage error of sizes the library refuses, the end of the summary.

#include "induction/config.h"
#include "relations/config.h"
#include "training/data_parallel.h"

#include <CLI/CLI.hpp>

#include <c10/util/Exception.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace attention::app {

/// How a run goes, whatever its task.
struct RunSettings {
  std::string out_dir;  ///< the run's folder
  bool resume = false;  ///< continue the run in out_dir from its checkpoint
  bool quiet = false;   ///< print nothing but errors
};

/// Runs the relations task (warm -> mat) of `config` as one of `ranks` (rank 0 alone prints and writes the
/// pictures): returns 0, or kExitInterrupted after Ctrl-C (the checkpoint saved). Throws CLI::Error for usage
/// errors, std::exception for failures.
int run_relations(const TrainConfig& config, const RunSettings& settings, DataParallel& ranks);
/// Runs the induction task of `config`, as run_relations.
int run_induction(const InductionConfig& config, const RunSettings& settings, DataParallel& ranks);

/// The flag that Ctrl-C (SIGINT) sets from now on: training stops after its current step.
const std::atomic<bool>& stop_on_ctrl_c();

/// Prints the message of a run stopped by Ctrl-C (how to continue it) and returns kExitInterrupted.
int interrupted(const std::string& out_dir);

/// A progress line per epoch on stderr: "LABEL epoch E/N [####....] VALUES", redrawn in place on a terminal,
/// printed every tenth of the run otherwise; nothing when `quiet`.
using ProgressLine =
    std::function<void(const std::string& label, int64_t epoch, int64_t epochs, const std::string& values)>;
ProgressLine progress_line(bool quiet);

/// The model that `build` makes of `dim` and `heads`, built before anything is written: sizes the attention layer
/// refuses (heads that do not divide the width) are a usage error, in the library's words.
template <typename Build>
auto built_or_usage_error(int64_t dim, int64_t heads, Build&& build) {
  try {
    return build();
  } catch (const c10::Error& error) {
    throw CLI::ValidationError("--dim " + std::to_string(dim) + " --heads " + std::to_string(heads),
                               error.what_without_backtrace());
  }
}

/// The last lines of a run's summary: the files written in `out_dir`.
void print_files(const std::string& out_dir, const std::vector<std::string>& pictures);

}  // namespace attention::app
