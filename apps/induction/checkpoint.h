#pragma once
// Checkpoints of the induction task: both models of the run (the trained one and the one-layer baseline, trained
// one after the other), the optimizer of the one in training, and where each stands (the file format:
// training/checkpoint.h). Saved after every epoch; read back by `--resume` and `heatmap`.

#include "induction/config.h"
#include "induction/metrics.h"
#include "induction/model.h"
#include "training/loop.h"

#include <nlohmann/json.hpp>

#include <torch/optim/optimizer.h>

#include <string>
#include <vector>

namespace attention::app {

/// Where one model of the run stands.
struct StageState {
  Progress progress;
  std::vector<EvaluationRecord> history;  ///< its evaluations so far, from epoch 0 (before training)
  double seconds = 0;                     ///< spent in its training steps
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StageState, progress, history, seconds)

/// What a checkpoint of the induction task holds beside the weights and the optimizer.
struct InductionState {
  InductionConfig config;
  StageState model;
  StageState baseline;
  bool training_baseline = false;  ///< the checkpoint's optimizer is the baseline's (else the model's)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InductionState, config, model, baseline, training_baseline)

/// The two models of a run.
struct InductionModels {
  InductionModel model = nullptr;     ///< config.layers layers
  InductionModel baseline = nullptr;  ///< one layer
};
/// The untrained models of `config`. Throws c10::Error for sizes SelfAttention refuses.
InductionModels models_for(const InductionConfig& config);

/// Saves `state`, both models and `optimizer` (of the model in training, as state.training_baseline says) to
/// `run_dir`/checkpoint.pt (see save_checkpoint).
void save_induction_checkpoint(const std::string& run_dir, const InductionState& state, const InductionModels& models,
                               const torch::optim::Optimizer& optimizer);

/// Loads the checkpoint in `run_dir` into `models` (of its configuration) and the optimizer of the model in
/// training, and returns its state. Throws std::runtime_error when it is of the relations task or of a run with
/// other options, or cannot be read.
InductionState resume_induction(const std::string& run_dir, InductionModels& models,
                                torch::optim::Optimizer& model_optimizer, torch::optim::Optimizer& baseline_optimizer);

/// The configuration of the induction run whose checkpoint is in `run_dir`.
InductionConfig read_induction_config(const std::string& run_dir);

/// The models of the checkpoint in `run_dir`, in eval() mode.
InductionModels load_induction_models(const std::string& run_dir);

}  // namespace attention::app
