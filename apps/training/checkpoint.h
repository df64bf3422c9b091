#pragma once
// Checkpoints of a training run, whatever its task: the task, a JSON state (configuration, progress, ...), the
// parameters and buffers of a model and the state of its optimizer, in one file of torch::serialize's format.

#include "training/task.h"

#include <nlohmann/json.hpp>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>

#include <string>

namespace attention::app {

/// The file name of the checkpoint in a run's folder.
inline constexpr const char* kCheckpointFile = "checkpoint.pt";

/// `run_dir`/checkpoint.pt. Throws std::runtime_error when `run_dir` does not exist or is not a folder.
std::string checkpoint_path(const std::string& run_dir);

/// Saves `state` (a JSON object) with its `task`, `model` and the state of `optimizer` (null: a model that does
/// not train) to `path`. The checkpoint is serialised in memory, then written with checked writes to a temporary file,
/// flushed to the disk, read back and checked (check_zip_records), and only then renamed over `path`, so a full
/// disk or a kill at any moment leaves the previous checkpoint whole (files::write_atomically). Throws
/// std::runtime_error "cannot save the checkpoint PATH (the previous one, if any, is kept): why".
void save_checkpoint(const std::string& path, Task task, const nlohmann::json& state, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer);

/// A checkpoint read back from its file.
class Checkpoint {
 public:
  /// Reads `path` and checks every record against its CRC-32 before anything is loaded. Throws
  /// std::runtime_error naming `path` when it does not exist, is not a file, is damaged or cannot be read.
  explicit Checkpoint(const std::string& path);

  const std::string& path() const { return path_; }
  /// The task of the run (Task::Relations for a checkpoint that does not say: those were written before there
  /// were two tasks).
  Task task() const { return task_; }
  /// The JSON state given to save_checkpoint, for a reader of `task`'s checkpoints. Throws std::runtime_error
  /// "PATH: a run of --task induction, not of --task relations" when the checkpoint is of another task.
  const nlohmann::json& state(Task task) const;
  /// Loads the saved parameters and buffers into `model`, which must have the saved model's architecture.
  void load_model(torch::nn::Module& model);
  /// Loads the saved optimizer state into `optimizer` (of the same parameters).
  void load_optimizer(torch::optim::Optimizer& optimizer);

 private:
  std::string path_;
  torch::serialize::InputArchive archive_;
  nlohmann::json state_;
  Task task_ = Task::Relations;
};

}  // namespace attention::app
