#include "relations/trainer.h"

#include "relations/checkpoint.h"
#include "training/checkpoint.h"
#include "training/loop.h"
#include "training/run_folder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace attention::app {
namespace {

/// The order of the training examples in epoch `epoch`. It depends only on the seed and the epoch, so a
/// resumed run sees the same batches.
std::vector<size_t> epoch_order(size_t count, uint64_t seed, int64_t epoch) {
  std::vector<size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle_rng(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  std::shuffle(order.begin(), order.end(), shuffle_rng);
  return order;
}

std::optional<TrainedRun> train_in(RelationModel model, const Split& split, const std::string& out_dir, bool resume,
                                   const std::atomic<bool>& stop, const TrainCallbacks& callbacks,
                                   DataParallel& ranks) {
  const auto started = std::chrono::steady_clock::now();
  const auto& config = model->config;
  const auto& vocabulary = model->vocabulary;
  auto baseline_config = config;
  baseline_config.model = ModelKind::Simple;
  RelationModel baseline(baseline_config, vocabulary);  // same seed: the same fixed embeddings

  std::vector<torch::Tensor> trainable;
  for (const auto& parameter : model->parameters()) {
    if (parameter.requires_grad()) {
      trainable.push_back(parameter);
    }
  }
  // The simple model has nothing to train: it is evaluated as it is.
  std::unique_ptr<torch::optim::Adam> optimizer;
  if (!trainable.empty()) {
    optimizer = std::make_unique<torch::optim::Adam>(trainable, torch::optim::AdamOptions(config.lr));
  }

  ResumePoint at;
  if (resume) {
    at = resume_from_checkpoint(out_dir, model, optimizer.get());
  }
  auto& history = at.history;
  if (!optimizer) {
    if (ranks.is_first()) {
      save_relation_checkpoint(out_dir, model, nullptr, at.progress, history);
    }
  } else {
    if (at.progress.step == 0 && callbacks.on_start) {
      model->eval();
      callbacks.on_start(model, at.progress.epoch);
    }
    std::vector<size_t> order;
    int64_t order_epoch = -1;
    EpochReport report;
    TrainingSteps steps;
    steps.epochs = config.epochs;
    steps.steps_per_epoch = static_cast<int64_t>((split.train.size() + config.batch_size - 1) / config.batch_size);
    steps.loss = [&](int64_t epoch, int64_t step) {
      if (epoch != order_epoch) {
        order = epoch_order(split.train.size(), config.seed, epoch);
        order_epoch = epoch;
      }
      const auto first = step * config.batch_size;
      const auto rows = std::min(static_cast<int64_t>(order.size()) - first, config.batch_size);
      const auto share = ranks.share_of(rows);
      if (share.count() == 0) {
        // A last batch of fewer examples than ranks left this one none: its gradients count as zeros.
        return torch::zeros({}, torch::requires_grad());
      }
      const std::vector<size_t> indices(order.begin() + first + share.begin, order.begin() + first + share.end);
      const auto batch = make_batch(split.train, indices, vocabulary);
      const auto attention = model(batch.ids, batch.lengths, batch.queries);
      // Cross-entropy of the query's attention against the target position; weighted when the ranks' shares of a
      // last, smaller batch differ in size.
      const auto loss = torch::nll_loss(attention.clamp_min(1e-12).log(), batch.targets);
      const auto weight = ranks.loss_weight(rows);
      return weight == 1 ? loss : loss * weight;
    };
    steps.end_epoch = [&](int64_t epochs_done, double mean_loss, double seconds) {
      report = EpochReport{epochs_done,
                           config.epochs,
                           mean_loss,
                           evaluate(model, split.train).accuracy,
                           evaluate(model, split.test).accuracy,
                           static_cast<double>(split.train.size()) / std::max(seconds, 1e-9)};
      history.push_back({report.epoch, report.loss, report.train_accuracy, report.test_accuracy});
    };
    steps.save = [&](const Progress& progress) {
      save_relation_checkpoint(out_dir, model, optimizer.get(), progress, history);
    };
    steps.on_epoch = [&](int64_t) {
      if (callbacks.on_epoch) {
        callbacks.on_epoch(report, model);
      }
    };
    if (!run_training_loop(*model, *optimizer, at.progress, steps, stop, ranks)) {
      return std::nullopt;
    }
  }

  model->eval();
  TrainedRun run{Metrics{}, model, baseline};
  auto& metrics = run.metrics;
  static_cast<Scores&>(metrics) = score(model, split);
  static_cast<Scores&>(metrics.baseline) = score(baseline, split);
  metrics.epochs = optimizer ? config.epochs : 0;
  metrics.train_examples = static_cast<int64_t>(split.train.size());
  metrics.test_examples = static_cast<int64_t>(split.test.size());
  metrics.seed = config.seed;
  metrics.model = config;
  metrics.threads = torch::get_num_threads();
  metrics.processes = ranks.size();
  metrics.history = history;
  metrics.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (ranks.is_first()) {
    write_metrics_file(out_dir, metrics);
  }
  return run;
}

}  // namespace

RelationModel model_for(const TrainConfig& config, const Split& split) {
  Vocabulary vocabulary;
  vocabulary.add(split.train);
  return RelationModel(config, std::move(vocabulary));
}

std::optional<TrainedRun> train(RelationModel model, const Split& split, const std::string& out_dir, bool resume,
                                const std::atomic<bool>& stop, const TrainCallbacks& callbacks, DataParallel& ranks) {
  std::optional<TrainedRun> run;
  in_run_folder(
      out_dir, {kCheckpointFile, kMetricsFile},
      [&] { run = train_in(model, split, out_dir, resume, stop, callbacks, ranks); }, ranks);
  return run;
}

}  // namespace attention::app
