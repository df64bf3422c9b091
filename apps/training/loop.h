#pragma once
// The training loop of `attention train`, whatever the task: epochs of steps, the divergence checks, a
// checkpoint after every epoch, and a stop request (Ctrl-C) honoured after the current step; alone or as one of
// several data-parallel ranks.

#include "training/data_parallel.h"

#include <nlohmann/json.hpp>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <atomic>
#include <cstdint>
#include <functional>

namespace attention::app {

/// Where a run stands. Stored in its checkpoint (beside the task's own state), so a resumed run ends exactly
/// where an uninterrupted one would.
struct Progress {
  int64_t epoch = 0;    ///< epochs completed
  int64_t step = 0;     ///< steps completed in the current epoch
  double loss_sum = 0;  ///< sum of the current epoch's step losses
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Progress, epoch, step, loss_sum)

/// What a task gives the loop. Epochs and steps are counted from 0 in the calls below.
struct TrainingSteps {
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
  /// The loss (a scalar) of step `step` of epoch `epoch`; the model is in train() mode. Of this rank's share of
  /// the step's batch: the mean over the ranks of these losses, and of their gradients, is the whole batch's.
  std::function<torch::Tensor(int64_t epoch, int64_t step)> loss;
  /// After the last step of an epoch, before its checkpoint: `epochs_done` epochs are done, their last one had
  /// a mean step loss `mean_loss` and took `seconds`. The model is in eval() mode. For the task to evaluate and
  /// record what its checkpoint keeps.
  std::function<void(int64_t epochs_done, double mean_loss, double seconds)> end_epoch;
  /// Saves the checkpoint of `progress`, with the task's state (called on rank 0 only: every rank holds the same
  /// state).
  std::function<void(const Progress& progress)> save;
  /// After an epoch's checkpoint is saved (optional): reports, pictures.
  std::function<void(int64_t epochs_done)> on_epoch;
};

/// Trains `model` with `optimizer` from `progress` (updated as it goes) to the end of the last epoch, and
/// returns true. When `stop` becomes true (on any rank) the loop saves the checkpoint of the current step and
/// returns false. Before every optimizer step the loss and the gradients are checked, and the weights after every
/// epoch: a NaN or inf throws std::runtime_error naming the epoch and step, before anything non-finite is stepped or
/// saved. With several `ranks`, every rank starts from rank 0's weights, the gradients are averaged over the ranks
/// after each backward pass, and the step loss is the mean of the ranks' losses: every rank sees the same values.
bool run_training_loop(torch::nn::Module& model, torch::optim::Optimizer& optimizer, Progress& progress,
                       const TrainingSteps& steps, const std::atomic<bool>& stop, DataParallel& ranks);

}  // namespace attention::app
