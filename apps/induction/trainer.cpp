#include "induction/trainer.h"

#include "training/checkpoint.h"
#include "training/loop.h"
#include "training/run_folder.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>

namespace attention::app {
namespace {

/// The mean next-token cross-entropy of `model` on `tokens` `[B, T]`, over every position.
torch::Tensor next_token_loss(InductionModel& model, const torch::Tensor& tokens) {
  const auto T = tokens.size(1);
  const auto logits = model(tokens);  // [B, T, V]
  return torch::nn::functional::cross_entropy(logits.slice(1, 0, T - 1).reshape({-1, logits.size(2)}),
                                              tokens.slice(1, 1, T).reshape({-1}));
}

/// The run in `out_dir`: both models, their optimizers and where they stand, saved together.
class InductionTraining {
 public:
  InductionTraining(InductionModels models, const std::string& out_dir, const std::atomic<bool>& stop,
                    const InductionCallbacks& callbacks, DataParallel& ranks)
      : models_(std::move(models)),
        config_(models_.model->config),
        out_dir_(out_dir),
        stop_(stop),
        callbacks_(callbacks),
        ranks_(ranks),
        held_out_(held_out_sequences(config_)),
        model_optimizer_(models_.model->parameters(), torch::optim::AdamOptions(config_.lr)),
        baseline_optimizer_(models_.baseline->parameters(), torch::optim::AdamOptions(config_.lr)) {
    state_.config = config_;
  }

  std::optional<InductionRun> run(bool resume) {
    if (resume) {
      state_ = resume_induction(out_dir_, models_, model_optimizer_, baseline_optimizer_);
    }
    if (!state_.training_baseline && !train_stage(models_.model, model_optimizer_, state_.model, false)) {
      return std::nullopt;
    }
    state_.training_baseline = true;
    if (!train_stage(models_.baseline, baseline_optimizer_, state_.baseline, true)) {
      return std::nullopt;
    }
    InductionRun run{InductionMetrics{}, models_, held_out_};
    static_cast<ModelMetrics&>(run.metrics) = metrics_of(models_.model, state_.model);
    run.metrics.baseline = metrics_of(models_.baseline, state_.baseline);
    run.metrics.model = config_;
    run.metrics.threads = torch::get_num_threads();
    run.metrics.processes = ranks_.size();
    if (ranks_.is_first()) {
      write_metrics_file(out_dir_, run.metrics);
    }
    return run;
  }

 private:
  /// Trains `model` from where `stage` stands to the end of its last epoch; false when stopped.
  bool train_stage(InductionModel& model, torch::optim::Adam& optimizer, StageState& stage, bool baseline) {
    const auto evaluation = [&](int64_t epoch, double loss, double seconds) {
      const auto sequences = static_cast<double>(config_.steps_per_epoch * config_.batch_size);
      return InductionReport{baseline, config_.epochs, loss, sequences / std::max(seconds, 1e-9),
                             record_of(evaluate(model, held_out_), epoch, config_.steps_per_epoch)};
    };
    // The loop's own position; `stage` records what each checkpoint saves.
    Progress progress = stage.progress;
    if (progress.step == 0 && progress.epoch < config_.epochs) {
      model->eval();
      const auto start = evaluation(progress.epoch, std::numeric_limits<double>::quiet_NaN(), 0);
      if (stage.history.empty()) {
        stage.history.push_back(start.record);
      }
      notify(start, model);
    }
    InductionReport last;
    TrainingSteps steps;
    steps.epochs = config_.epochs;
    steps.steps_per_epoch = config_.steps_per_epoch;
    steps.loss = [&](int64_t epoch, int64_t step) {
      const auto share = ranks_.share_of(config_.batch_size);
      return next_token_loss(model, training_batch(config_, epoch, step).tokens.slice(0, share.begin, share.end));
    };
    steps.end_epoch = [&](int64_t epochs_done, double mean_loss, double seconds) {
      last = evaluation(epochs_done, mean_loss, seconds);
      stage.history.push_back(last.record);
      stage.seconds += seconds;
    };
    steps.save = [&](const Progress& saved) {
      stage.progress = saved;
      save_induction_checkpoint(out_dir_, state_, models_, optimizer);
    };
    steps.on_epoch = [&](int64_t) { notify(last, model); };
    if (!run_training_loop(*model, optimizer, progress, steps, stop_, ranks_)) {
      return false;
    }
    stage.progress = progress;
    return true;
  }

  void notify(const InductionReport& report, InductionModel& model) const {
    if (callbacks_.on_evaluation) {
      callbacks_.on_evaluation(report, model);
    }
  }

  ModelMetrics metrics_of(InductionModel& model, const StageState& stage) {
    model->eval();
    ModelMetrics metrics;
    static_cast<InductionEvaluation&>(metrics) = evaluate(model, held_out_);
    metrics.layers = model->layer_count();
    metrics.phase_change_step = phase_change(stage.history);
    metrics.steps = stage.progress.epoch * config_.steps_per_epoch;
    metrics.seconds = stage.seconds;
    metrics.history = stage.history;
    return metrics;
  }

  InductionModels models_;
  InductionConfig config_;
  std::string out_dir_;
  const std::atomic<bool>& stop_;
  const InductionCallbacks& callbacks_;
  DataParallel& ranks_;
  Sequences held_out_;
  torch::optim::Adam model_optimizer_;
  torch::optim::Adam baseline_optimizer_;
  InductionState state_;
};

}  // namespace

std::optional<InductionRun> train_induction(InductionModels models, const std::string& out_dir, bool resume,
                                            const std::atomic<bool>& stop, const InductionCallbacks& callbacks,
                                            DataParallel& ranks) {
  std::optional<InductionRun> run;
  in_run_folder(
      out_dir, {kCheckpointFile, kMetricsFile},
      [&] { run = InductionTraining(std::move(models), out_dir, stop, callbacks, ranks).run(resume); }, ranks);
  return run;
}

}  // namespace attention::app
