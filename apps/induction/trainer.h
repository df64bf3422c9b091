#pragma once
// Training of the induction task behind `attention train --task induction`: the model of config.layers layers,
// then the one-layer baseline, on the same generated sequences.

#include "induction/checkpoint.h"
#include "induction/config.h"
#include "induction/data.h"
#include "induction/metrics.h"
#include "induction/model.h"
#include "training/data_parallel.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace attention::app {

/// One evaluation during training, as the progress report and the pictures see it.
struct InductionReport {
  bool baseline = false;  ///< of the one-layer baseline (else of the trained model)
  int64_t epochs = 0;     ///< of the whole run
  double loss = 0;        ///< mean training loss of the epoch (NaN before training)
  double sequences_per_second = 0;
  EvaluationRecord record;  ///< record.epoch: epochs done, 0 before training
};

/// What train_induction() tells its caller while it runs. The model is in eval() mode.
struct InductionCallbacks {
  /// When a model starts (or resumes) training at the beginning of an epoch, and after each of its epochs, once
  /// the checkpoint is saved.
  std::function<void(const InductionReport& report, InductionModel& model)> on_evaluation;
};

/// A finished run: its metrics, both trained models and the held-out sequences.
struct InductionRun {
  InductionMetrics metrics;
  InductionModels models;
  Sequences held_out;
};

/// Trains `models` (of models_for) in the run folder `out_dir` (see in_run_folder): the model, then the baseline,
/// each for config.epochs epochs of config.steps_per_epoch steps of fresh sequences, evaluated on the held-out
/// sequences before training and after every epoch; checkpoint.pt after every epoch, metrics.json at the end.
/// With `resume`, continues from that checkpoint, to the same final weights and metrics as an uninterrupted
/// run. When `stop` becomes true, saves the checkpoint of the current step and returns nothing. Throws
/// std::runtime_error when training diverges or a file cannot be read or written.
/// With several `ranks` (config.batch_size divisible by their number), each trains on its share of every batch
/// (see run_training_loop), to the metrics of one process within rounding; every rank evaluates and returns the
/// run, rank 0 alone writes its files. With `resume`, every rank reads the checkpoint. Throws std::invalid_argument
/// when the ranks do not divide config.batch_size.
std::optional<InductionRun> train_induction(InductionModels models, const std::string& out_dir, bool resume,
                                            const std::atomic<bool>& stop, const InductionCallbacks& callbacks = {},
                                            DataParallel& ranks = single_process());

}  // namespace attention::app
