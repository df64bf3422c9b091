#include "training/loop.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace attention::app {
namespace {

/// True when every defined tensor of `tensors` holds only finite values (undefined ones, e.g. unused
/// gradients, are skipped).
bool all_finite(const std::vector<torch::Tensor>& tensors) {
  return std::all_of(tensors.begin(), tensors.end(), [](const torch::Tensor& tensor) {
    return !tensor.defined() || torch::isfinite(tensor).all().item<bool>();
  });
}

std::vector<torch::Tensor> parameters_of(const torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> parameters;
  for (const auto& group : optimizer.param_groups()) {
    parameters.insert(parameters.end(), group.params().begin(), group.params().end());
  }
  return parameters;
}

std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> gradients;
  for (const auto& parameter : parameters) {
    gradients.push_back(parameter.grad());
  }
  return gradients;
}

/// Rank 0 alone writes the checkpoint; every rank holds the same weights.
void save_on_first(const DataParallel& ranks, const TrainingSteps& steps, const Progress& progress) {
  if (ranks.is_first()) {
    steps.save(progress);
  }
}

}  // namespace

bool run_training_loop(torch::nn::Module& model, torch::optim::Optimizer& optimizer, Progress& progress,
                       const TrainingSteps& steps, const std::atomic<bool>& stop, DataParallel& ranks) {
  const auto parameters = parameters_of(optimizer);
  auto state = model.parameters();
  const auto buffers = model.buffers();
  state.insert(state.end(), buffers.begin(), buffers.end());
  ranks.broadcast(state);
  const auto gradients = ranks.average_gradients(parameters);
  for (; progress.epoch < steps.epochs; ++progress.epoch) {
    const auto started = std::chrono::steady_clock::now();
    model.train();
    for (; progress.step < steps.steps_per_epoch; ++progress.step) {
      if (ranks.any(stop.load())) {
        save_on_first(ranks, steps, progress);
        return false;
      }
      const auto loss = steps.loss(progress.epoch, progress.step);
      optimizer.zero_grad();
      loss.backward();
      gradients->synchronize();
      // A diverging run (a learning rate far too large) stops here, before its weights are stepped or saved:
      // the checkpoint of the last finished epoch stays as it was.
      const auto loss_value = ranks.mean(loss.item<double>());
      if (!std::isfinite(loss_value) || !all_finite(gradients_of(parameters))) {
        throw std::runtime_error("training diverged at epoch " + std::to_string(progress.epoch + 1) + ", step " +
                                 std::to_string(progress.step + 1) + " of " + std::to_string(steps.steps_per_epoch) +
                                 ": the " + (std::isfinite(loss_value) ? "gradient" : "loss") +
                                 " is not finite (loss " + std::to_string(loss_value) +
                                 "); try a smaller --lr. The last checkpoint, if any, is of the last finished epoch");
      }
      optimizer.step();
      progress.loss_sum += loss_value;
    }
    if (!all_finite(parameters)) {
      throw std::runtime_error("training diverged at epoch " + std::to_string(progress.epoch + 1) +
                               ", its last step: the weights are not finite; try a smaller --lr. The last "
                               "checkpoint, if any, is of the epoch before");
    }
    model.eval();
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    steps.end_epoch(progress.epoch + 1, progress.loss_sum / static_cast<double>(steps.steps_per_epoch), seconds);
    progress.step = 0;
    progress.loss_sum = 0;
    const Progress completed{progress.epoch + 1, 0, 0};
    save_on_first(ranks, steps, completed);
    if (steps.on_epoch) {
      steps.on_epoch(completed.epoch);
    }
  }
  return true;
}

}  // namespace attention::app
