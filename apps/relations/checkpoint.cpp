#include "relations/checkpoint.h"

#include "training/checkpoint.h"

#include <stdexcept>

namespace attention::app {

void save_relation_checkpoint(const std::string& run_dir, const RelationModel& model,
                              const torch::optim::Optimizer* optimizer, const Progress& progress,
                              const std::vector<EpochRecord>& history) {
  nlohmann::json state = RelationState{model->config, model->vocabulary.words(), history};
  state.update(nlohmann::json(progress));
  save_checkpoint(checkpoint_path(run_dir), Task::Relations, state, *model, optimizer);
}

ResumePoint resume_from_checkpoint(const std::string& run_dir, RelationModel& model,
                                   torch::optim::Optimizer* optimizer) {
  Checkpoint checkpoint(checkpoint_path(run_dir));
  const auto state = checkpoint.state(Task::Relations).get<RelationState>();
  if (state.vocabulary != model->vocabulary.words()) {
    throw std::runtime_error(checkpoint.path() + ": the checkpoint was trained on other data");
  }
  checkpoint.load_model(*model);
  if (optimizer) {
    checkpoint.load_optimizer(*optimizer);
  }
  return {checkpoint.state(Task::Relations).get<Progress>(), state.history};
}

TrainConfig read_checkpoint_config(const std::string& run_dir) {
  return Checkpoint(checkpoint_path(run_dir)).state(Task::Relations).get<RelationState>().config;
}

RelationModel load_model(const std::string& run_dir) {
  Checkpoint checkpoint(checkpoint_path(run_dir));
  const auto state = checkpoint.state(Task::Relations).get<RelationState>();
  RelationModel model(state.config, Vocabulary(state.vocabulary));
  checkpoint.load_model(*model);
  model->eval();
  return model;
}

}  // namespace attention::app
