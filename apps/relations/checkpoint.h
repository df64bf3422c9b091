#pragma once
// Checkpoints of the relation task: what `attention train` saves after every epoch, and what `--resume`,
// `predict` and `heatmap` read back (the file format: training/checkpoint.h).

#include "relations/config.h"
#include "relations/metrics.h"
#include "relations/model.h"
#include "training/loop.h"

#include <nlohmann/json.hpp>

#include <torch/optim/optimizer.h>

#include <string>
#include <vector>

namespace attention::app {

/// What a checkpoint of the relation task holds beside the weights, the optimizer and the loop's Progress.
struct RelationState {
  TrainConfig config;
  std::vector<std::string> vocabulary;  ///< Vocabulary::words()
  std::vector<EpochRecord> history;     ///< the finished epochs
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RelationState, config, vocabulary, history)

/// Saves `model` (with its configuration and vocabulary), `optimizer` (null for the simple model), `progress`
/// and `history` to `run_dir`/checkpoint.pt (see save_checkpoint).
void save_relation_checkpoint(const std::string& run_dir, const RelationModel& model,
                              const torch::optim::Optimizer* optimizer, const Progress& progress,
                              const std::vector<EpochRecord>& history);

/// Where a resumed run continues.
struct ResumePoint {
  Progress progress;
  std::vector<EpochRecord> history;
};
/// Loads the checkpoint in `run_dir` into `model` and `optimizer` (null for the simple model), which must be of
/// its configuration. Throws std::runtime_error when it was trained on other data (another vocabulary), or
/// cannot be read.
ResumePoint resume_from_checkpoint(const std::string& run_dir, RelationModel& model,
                                   torch::optim::Optimizer* optimizer);

/// The configuration of the run whose checkpoint is in `run_dir`.
TrainConfig read_checkpoint_config(const std::string& run_dir);

/// The trained model of the checkpoint in `run_dir`, in eval() mode.
RelationModel load_model(const std::string& run_dir);

}  // namespace attention::app
