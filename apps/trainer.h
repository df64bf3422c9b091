#pragma once
// Training and evaluation of the relation model behind `attention train` and `attention predict`.

#include "relation_config.h"
#include "relation_data.h"

#include <attention/attention.h>

#include <nlohmann/json.hpp>

#include <torch/nn/modules/embedding.h>

#include <atomic>
#include <functional>
#include <string>

namespace attention::app {

/// Fixed (or trainable) word embeddings and one attention layer; the prediction for an example is the word
/// its query attends to most, its own position excluded.
class RelationModelImpl : public torch::nn::Module {
 public:
  RelationModelImpl(const TrainConfig& config, int64_t vocabulary_size);
  /// ids `[B, T]` (padding after `lengths` `[B]`), query positions `[B]` → the query's attention `[B, T]`
  /// over the words (zero at its own position and on padding).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& lengths, const torch::Tensor& queries);
  /// ids `[B, T]`, lengths `[B]` → every word's attention over the words, per head: `[B, H, T, T]` (H = heads
  /// of ModelKind::MultiHead, 1 otherwise; row q is what forward() gives for query q, its own position and the padding
  /// excluded; the rows of padding are 0).
  torch::Tensor attention_matrix(const torch::Tensor& ids, const torch::Tensor& lengths);

  TrainConfig config;
  torch::nn::Embedding embeddings = nullptr;
  ScaledDotProductAttention single_head = nullptr;  // ModelKind::Scaled
  MultiHeadAttention multi_head = nullptr;          // ModelKind::MultiHead
};
TORCH_MODULE(RelationModel);

/// Accuracy and mean attention on the target of `model` over `examples`.
struct Evaluation {
  double accuracy = 0;
  double attention_on_target = 0;
};
Evaluation evaluate(RelationModel& model, const Vocabulary& vocabulary, const std::vector<Example>& examples);

/// Per-epoch progress: epoch, mean training loss, accuracies.
struct EpochReport {
  int64_t epoch = 0;
  int64_t epochs = 0;
  double loss = 0;
  double train_accuracy = 0;
  double test_accuracy = 0;
  double examples_per_second = 0;
};

/// Trains `config` on `split`, checkpointing to `out_dir`/checkpoint.pt after every epoch (and when `stop`
/// becomes true, after the current step). With `resume`, continues from that checkpoint. Returns the metrics
/// (also written to `out_dir`/metrics.json), or an empty object when stopped early. A finished run also writes
/// its pictures into `out_dir` (see write_training_pictures in figures.h), capturing one held-out example's
/// attention after every epoch for the learning animation; they leave the metrics unchanged.
nlohmann::json train(const TrainConfig& config, const Split& split, const std::string& out_dir, bool resume,
                     const std::atomic<bool>& stop, const std::function<void(const EpochReport&)>& on_epoch);

/// The training configuration stored in `checkpoint_dir`/checkpoint.pt.
TrainConfig read_checkpoint_config(const std::string& checkpoint_dir);

/// A trained model and its vocabulary, loaded from `checkpoint_dir`/checkpoint.pt.
struct LoadedModel {
  RelationModel model = nullptr;
  Vocabulary vocabulary;
};
LoadedModel load_model(const std::string& checkpoint_dir);

/// The query's attention over the words of `sentence` `[T]`, words unknown to the vocabulary included.
torch::Tensor attention_of(LoadedModel& loaded, const std::vector<std::string>& words, int64_t query);

/// Every word's attention over the words of a sentence, per head: `[H, T, T]` (see attention_matrix).
torch::Tensor attention_matrix_of(LoadedModel& loaded, const std::vector<std::string>& words);

}  // namespace attention::app
