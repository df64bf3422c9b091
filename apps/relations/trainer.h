#pragma once
// Training of the relation model behind `attention train`, against the similarity baseline.

#include "relations/config.h"
#include "relations/data.h"
#include "relations/metrics.h"
#include "relations/model.h"
#include "training/data_parallel.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace attention::app {

/// Progress of one finished epoch: its mean training loss and accuracies.
struct EpochReport {
  int64_t epoch = 0;   ///< from 1
  int64_t epochs = 0;  ///< of the whole run
  double loss = 0;
  double train_accuracy = 0;
  double test_accuracy = 0;
  double examples_per_second = 0;
};

/// What train() tells its caller while it runs (each may be empty). The model is in eval() mode.
struct TrainCallbacks {
  /// Before the first step, when the model trains and the run starts (or resumes) at the beginning of an
  /// epoch: the model after `epoch` epochs (0: untrained).
  std::function<void(RelationModel& model, int64_t epoch)> on_start;
  /// After every epoch, once its checkpoint is saved.
  std::function<void(const EpochReport& report, RelationModel& model)> on_epoch;
};

/// A finished run: its metrics, the trained model and the baseline.
struct TrainedRun {
  Metrics metrics;
  RelationModel model = nullptr;
  RelationModel baseline = nullptr;
};

/// The model of `config` to train on `split`: its vocabulary is the words of the training examples. Throws
/// c10::Error for options the attention layer refuses (heads that do not divide the width).
RelationModel model_for(const TrainConfig& config, const Split& split);

/// Trains `model` (of model_for) on `split` in the run folder `out_dir` (see in_run_folder), against the
/// similarity baseline on the same embeddings: checkpoint.pt after every epoch, metrics.json at the end. With
/// `resume`, continues from that checkpoint, to the same final weights and metrics as an uninterrupted run.
/// When `stop` becomes true, saves the checkpoint of the current step and returns nothing. Throws
/// std::runtime_error when training diverges or a file cannot be read or written.
/// With several `ranks`, each trains on its share of every batch (see run_training_loop), to the metrics of one
/// process within rounding; every rank evaluates and returns the run, rank 0 alone writes its files. With `resume`,
/// every rank reads the checkpoint.
std::optional<TrainedRun> train(RelationModel model, const Split& split, const std::string& out_dir, bool resume,
                                const std::atomic<bool>& stop, const TrainCallbacks& callbacks = {},
                                DataParallel& ranks = single_process());

}  // namespace attention::app
