#pragma once
// What a run of the relation task measures, and its metrics.json (written by training/run_folder.h): accuracy and
// attention on the target of the trained model and of the similarity baseline, and of every epoch.

#include "relations/config.h"
#include "relations/data.h"
#include "relations/model.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attention::app {

/// Accuracy (the query attends most to its target) and mean attention on the target of a model over examples.
struct Evaluation {
  double accuracy = 0;
  double attention_on_target = 0;
};
/// The evaluation of `model` on `examples`. No gradients.
Evaluation evaluate(RelationModel& model, const std::vector<Example>& examples);

/// A model's scores on a split: its accuracy on both sets, its attention on the target on the held-out one.
struct Scores {
  double train_accuracy = 0;
  double test_accuracy = 0;
  double attention_on_target = 0;
};
Scores score(RelationModel& model, const Split& split);

/// One finished epoch ("history" in metrics.json and in the checkpoint).
struct EpochRecord {
  int64_t epoch = 0;  ///< from 1
  double loss = 0;    ///< mean step loss
  double train_accuracy = 0;
  double test_accuracy = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EpochRecord, epoch, loss, train_accuracy, test_accuracy)

/// The similarity baseline's scores ("baseline" in metrics.json).
struct BaselineMetrics : Scores {
  ModelKind model = ModelKind::Simple;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BaselineMetrics, train_accuracy, test_accuracy, attention_on_target, model)

/// metrics.json: the trained model's scores, the baseline's, and how the run went. Users' scripts read these
/// keys: keep them.
struct Metrics : Scores {
  BaselineMetrics baseline;
  int64_t epochs = 0;  ///< epochs trained (0 for the simple model, which does not train)
  int64_t train_examples = 0;
  int64_t test_examples = 0;
  uint64_t seed = 0;
  TrainConfig model;      ///< the run's options
  int threads = 0;        ///< LibTorch's CPU threads
  int64_t processes = 1;  ///< the data-parallel ranks that trained it (torchrun's WORLD_SIZE)
  std::vector<EpochRecord> history;
  double seconds = 0;  ///< of the whole run (wall clock)
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Metrics, train_accuracy, test_accuracy, attention_on_target, baseline, epochs,
                                   train_examples, test_examples, seed, model, threads, processes, history, seconds)

}  // namespace attention::app
