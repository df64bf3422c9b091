#include "induction/checkpoint.h"

#include "training/checkpoint.h"

#include <torch/nn/module.h>

#include <memory>
#include <stdexcept>

namespace attention::app {
namespace {

/// Both models as one module, "model" and "baseline", as the checkpoint stores them.
std::shared_ptr<torch::nn::Module> both(const InductionModels& models) {
  auto pair = std::make_shared<torch::nn::Module>();
  pair->register_module("model", models.model);
  pair->register_module("baseline", models.baseline);
  return pair;
}

}  // namespace

InductionModels models_for(const InductionConfig& config) {
  return {InductionModel(config, config.layers), InductionModel(config, 1)};
}

void save_induction_checkpoint(const std::string& run_dir, const InductionState& state, const InductionModels& models,
                               const torch::optim::Optimizer& optimizer) {
  save_checkpoint(checkpoint_path(run_dir), Task::Induction, state, *both(models), &optimizer);
}

InductionState resume_induction(const std::string& run_dir, InductionModels& models,
                                torch::optim::Optimizer& model_optimizer, torch::optim::Optimizer& baseline_optimizer) {
  Checkpoint checkpoint(checkpoint_path(run_dir));
  const auto state = checkpoint.state(Task::Induction).get<InductionState>();
  if (nlohmann::json(state.config) != nlohmann::json(models.model->config)) {
    throw std::runtime_error(checkpoint.path() + ": the checkpoint's run has other options");
  }
  checkpoint.load_model(*both(models));
  checkpoint.load_optimizer(state.training_baseline ? baseline_optimizer : model_optimizer);
  return state;
}

InductionConfig read_induction_config(const std::string& run_dir) {
  return Checkpoint(checkpoint_path(run_dir)).state(Task::Induction).get<InductionState>().config;
}

InductionModels load_induction_models(const std::string& run_dir) {
  Checkpoint checkpoint(checkpoint_path(run_dir));
  auto models = models_for(checkpoint.state(Task::Induction).get<InductionState>().config);
  checkpoint.load_model(*both(models));
  models.model->eval();
  models.baseline->eval();
  return models;
}

}  // namespace attention::app
