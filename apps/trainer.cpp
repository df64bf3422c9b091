#include "trainer.h"
#include "figures.h"

#include "atomic_file.h"
#include "checkpoint.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMetricsFile = "metrics.json";

/// A padded batch of examples.
struct Batch {
  torch::Tensor ids;      // [B, T]
  torch::Tensor lengths;  // [B]
  torch::Tensor queries;  // [B]
  torch::Tensor targets;  // [B]
};

Batch make_batch(const std::vector<Example>& examples, const std::vector<size_t>& indices,
                 const Vocabulary& vocabulary) {
  int64_t longest = 0;
  for (const auto i : indices) {
    longest = std::max<int64_t>(longest, static_cast<int64_t>(examples[i].words.size()));
  }
  const auto B = static_cast<int64_t>(indices.size());
  Batch batch{torch::full({B, longest}, Vocabulary::kUnknown, torch::kLong), torch::empty({B}, torch::kLong),
              torch::empty({B}, torch::kLong), torch::empty({B}, torch::kLong)};
  auto ids = batch.ids.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& example = examples[indices[b]];
    for (size_t t = 0; t < example.words.size(); ++t) {
      ids[b][static_cast<int64_t>(t)] = vocabulary.id(example.words[t]);
    }
    batch.lengths[b] = static_cast<int64_t>(example.words.size());
    batch.queries[b] = example.query;
    batch.targets[b] = example.target;
  }
  return batch;
}

/// True when every defined tensor of `tensors` holds only finite values (undefined ones, e.g. unused
/// gradients, are skipped).
bool all_finite(const std::vector<torch::Tensor>& tensors) {
  return std::all_of(tensors.begin(), tensors.end(), [](const torch::Tensor& tensor) {
    return !tensor.defined() || torch::isfinite(tensor).all().item<bool>();
  });
}

std::vector<torch::Tensor> gradients_of(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> gradients;
  for (const auto& parameter : parameters) {
    gradients.push_back(parameter.grad());
  }
  return gradients;
}

std::vector<size_t> all_indices(size_t count) {
  std::vector<size_t> indices(count);
  std::iota(indices.begin(), indices.end(), 0);
  return indices;
}

/// Progress stored in a checkpoint, so a resumed run ends exactly where an uninterrupted one would.
struct Progress {
  int64_t epoch = 0;        // epochs completed
  int64_t step = 0;         // steps completed in the current epoch
  double loss_sum = 0;      // sum of the current epoch's step losses
  nlohmann::json history = nlohmann::json::array();
};

void save_run(const fs::path& dir, RelationModel& model, const torch::optim::Optimizer* optimizer,
              const Vocabulary& vocabulary, const Progress& progress) {
  const nlohmann::json state = {{"config", model->config},
                                {"vocabulary", vocabulary.words()},
                                {"epoch", progress.epoch},
                                {"step", progress.step},
                                {"loss_sum", progress.loss_sum},
                                {"history", progress.history}};
  save_checkpoint((dir / kCheckpointFile).string(), state, *model, optimizer);
}

}  // namespace

RelationModelImpl::RelationModelImpl(const TrainConfig& config_, int64_t vocabulary_size) : config(config_) {
  TORCH_CHECK(config.dim > 0, "dim must be > 0, got ", config.dim);
  torch::manual_seed(config.seed);
  embeddings = register_module("embeddings", torch::nn::Embedding(vocabulary_size, config.dim));
  {
    torch::NoGradGuard no_grad;
    embeddings->weight.div_(std::sqrt(static_cast<double>(config.dim)));  // unit length on average
  }
  embeddings->weight.set_requires_grad(config.train_embeddings);
  switch (config.model) {
    case ModelKind::Simple:
      break;
    case ModelKind::Scaled:
      single_head = register_module("attention", ScaledDotProductAttention(config.dim, config.dim));
      break;
    case ModelKind::MultiHead:
      multi_head = register_module("attention", MultiHeadAttention(config.dim, config.heads));
      break;
  }
}

torch::Tensor RelationModelImpl::forward(const torch::Tensor& ids, const torch::Tensor& lengths,
                                         const torch::Tensor& queries) {
  const auto B = ids.size(0), T = ids.size(1);
  const auto x = embeddings(ids);                                                     // [B, T, D]
  const auto query = x.gather(1, queries.view({B, 1, 1}).expand({B, 1, x.size(2)}));  // [B, 1, D]
  const auto positions = torch::arange(T, ids.options()).unsqueeze(0);                // [1, T]
  const auto allowed = (positions < lengths.unsqueeze(1)) & (positions != queries.unsqueeze(1));  // [B, T]
  if (single_head) {
    return single_head(query, x, x, allowed.view({B, 1, 1, T})).weights.squeeze(1);
  }
  if (multi_head) {
    return mean_over_heads(multi_head(query, x, x, allowed.view({B, 1, 1, T})).weights).squeeze(1);
  }
  // Non-trainable: plain dot products of the fixed embeddings.
  return scaled_dot_product_attention(query, x, x, AttentionOptions().scale(1.0).mask(allowed.view({B, 1, T})))
      .weights.squeeze(1);
}

torch::Tensor RelationModelImpl::attention_matrix(const torch::Tensor& ids, const torch::Tensor& lengths) {
  const auto B = ids.size(0), T = ids.size(1);
  const auto x = embeddings(ids);                                                     // [B, T, D]
  const auto positions = torch::arange(T, ids.options());                             // [T]
  const auto valid = (positions.unsqueeze(0) < lengths.unsqueeze(1)).view({B, 1, T});  // keys within the sentence
  const auto not_self = (positions.view({T, 1}) != positions.view({1, T})).unsqueeze(0);
  const auto allowed = valid & not_self;                                              // [B, T, T]
  if (single_head) {
    return single_head(x, x, x, allowed.view({B, 1, T, T})).weights.unsqueeze(1);
  }
  if (multi_head) {
    return multi_head(x, x, x, allowed.view({B, 1, T, T})).weights;
  }
  return scaled_dot_product_attention(x, x, x, AttentionOptions().scale(1.0).mask(allowed)).weights.unsqueeze(1);
}

Evaluation evaluate(RelationModel& model, const Vocabulary& vocabulary, const std::vector<Example>& examples) {
  torch::NoGradGuard no_grad;
  const auto batch = make_batch(examples, all_indices(examples.size()), vocabulary);
  const auto attention = model(batch.ids, batch.lengths, batch.queries);  // [B, T]
  const auto predicted = attention.argmax(1);
  Evaluation evaluation;
  evaluation.accuracy = predicted.eq(batch.targets).to(torch::kDouble).mean().item<double>();
  evaluation.attention_on_target =
      attention.gather(1, batch.targets.unsqueeze(1)).to(torch::kDouble).mean().item<double>();
  return evaluation;
}

namespace {

nlohmann::json train_in(const TrainConfig& config, const Split& split, const std::string& out_dir, bool resume,
                        const std::atomic<bool>& stop, const std::function<void(const EpochReport&)>& on_epoch) {
  const auto started = std::chrono::steady_clock::now();
  const fs::path dir(out_dir);

  Vocabulary vocabulary;
  vocabulary.add(split.train);
  RelationModel model(config, vocabulary.size());
  auto baseline_config = config;
  baseline_config.model = ModelKind::Simple;
  RelationModel baseline(baseline_config, vocabulary.size());  // same seed: the same fixed embeddings

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

  Progress progress;
  if (resume) {
    Checkpoint checkpoint(checkpoint_path(out_dir));
    const auto& state = checkpoint.state();
    if (state.at("vocabulary").get<std::vector<std::string>>() != vocabulary.words()) {
      throw std::runtime_error(checkpoint.path() + ": the checkpoint was trained on other data");
    }
    checkpoint.load_model(*model);
    if (optimizer) {
      checkpoint.load_optimizer(*optimizer);
    }
    progress.epoch = state.at("epoch");
    progress.step = state.at("step");
    progress.loss_sum = state.at("loss_sum");
    progress.history = state.at("history");
  }

  // The attention of one fixed held-out example after every epoch, for the learning animation.
  auto learning = watch_example(split);
  if (optimizer && progress.step == 0) {
    model->eval();
    capture_frame(learning, model, vocabulary, progress.epoch);
  }

  const auto steps_per_epoch =
      static_cast<int64_t>((split.train.size() + config.batch_size - 1) / config.batch_size);
  for (; progress.epoch < config.epochs && optimizer; ++progress.epoch) {
    const auto epoch_started = std::chrono::steady_clock::now();
    // The batch order depends only on the seed and the epoch, so a resumed run sees the same batches.
    auto order = all_indices(split.train.size());
    std::mt19937_64 shuffle_rng(config.seed * 1000003ULL + static_cast<uint64_t>(progress.epoch));
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    model->train();
    for (; progress.step < steps_per_epoch; ++progress.step) {
      if (stop.load()) {
        save_run(dir, model, optimizer.get(), vocabulary, progress);
        return {};
      }
      const auto first = static_cast<size_t>(progress.step * config.batch_size);
      const std::vector<size_t> indices(order.begin() + first,
                                        order.begin() + std::min(order.size(), first + config.batch_size));
      const auto batch = make_batch(split.train, indices, vocabulary);
      const auto attention = model(batch.ids, batch.lengths, batch.queries);
      // Cross-entropy of the query's attention against the target position.
      const auto loss = torch::nll_loss(attention.clamp_min(1e-12).log(), batch.targets);
      optimizer->zero_grad();
      loss.backward();
      // A diverging run (a learning rate far too large) stops here, before its weights are stepped or saved:
      // the checkpoint of the last finished epoch stays as it was.
      const auto loss_value = loss.item<double>();
      if (!std::isfinite(loss_value) || !all_finite(gradients_of(trainable))) {
        throw std::runtime_error("training diverged at epoch " + std::to_string(progress.epoch + 1) + ", step " +
                                 std::to_string(progress.step + 1) + " of " + std::to_string(steps_per_epoch) +
                                 ": the " + (std::isfinite(loss_value) ? "gradient" : "loss") +
                                 " is not finite (loss " + std::to_string(loss_value) +
                                 "); try a smaller --lr. The last checkpoint, if any, is of the last finished epoch");
      }
      optimizer->step();
      progress.loss_sum += loss_value;
    }
    if (!all_finite(trainable)) {
      throw std::runtime_error("training diverged at epoch " + std::to_string(progress.epoch + 1) +
                               ", its last step: the weights are not finite; try a smaller --lr. The last "
                               "checkpoint, if any, is of the epoch before");
    }
    model->eval();
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_started).count();
    EpochReport report{progress.epoch + 1,
                       config.epochs,
                       progress.loss_sum / static_cast<double>(steps_per_epoch),
                       evaluate(model, vocabulary, split.train).accuracy,
                       evaluate(model, vocabulary, split.test).accuracy,
                       static_cast<double>(split.train.size()) / std::max(seconds, 1e-9)};
    capture_frame(learning, model, vocabulary, report.epoch);
    progress.history.push_back({{"epoch", report.epoch},
                                {"loss", report.loss},
                                {"train_accuracy", report.train_accuracy},
                                {"test_accuracy", report.test_accuracy}});
    progress.step = 0;
    progress.loss_sum = 0;
    auto completed = progress;
    completed.epoch += 1;
    save_run(dir, model, optimizer.get(), vocabulary, completed);
    on_epoch(report);
  }
  if (!optimizer) {
    save_run(dir, model, optimizer.get(), vocabulary, progress);
  }

  model->eval();
  const auto describe = [&](RelationModel& which) {
    const auto train_eval = evaluate(which, vocabulary, split.train);
    const auto test_eval = evaluate(which, vocabulary, split.test);
    return nlohmann::json{{"train_accuracy", train_eval.accuracy},
                          {"test_accuracy", test_eval.accuracy},
                          {"attention_on_target", test_eval.attention_on_target}};
  };
  auto metrics = describe(model);
  metrics["baseline"] = describe(baseline);
  metrics["baseline"]["model"] = ModelKind::Simple;
  metrics["epochs"] = optimizer ? config.epochs : 0;
  metrics["train_examples"] = split.train.size();
  metrics["test_examples"] = split.test.size();
  metrics["seed"] = config.seed;
  metrics["model"] = config;
  metrics["threads"] = torch::get_num_threads();
  metrics["history"] = progress.history;
  metrics["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  files::write_atomically((dir / kMetricsFile).string(), files::kTemporarySuffix, [&](const std::string& path) {
    files::write_bytes(path, metrics.dump(2) + "\n");
  });
  write_training_pictures(out_dir, model, baseline, vocabulary, split, progress.history, learning);
  return metrics;
}

}  // namespace

nlohmann::json train(const TrainConfig& config, const Split& split, const std::string& out_dir, bool resume,
                     const std::atomic<bool>& stop, const std::function<void(const EpochReport&)>& on_epoch) {
  const fs::path dir(out_dir);
  std::error_code error;
  if (fs::exists(dir, error) && !fs::is_directory(dir, error)) {
    throw std::runtime_error(out_dir + ": cannot write the run there: it is a file, not a folder");
  }
  bool created = false;
  try {
    created = fs::create_directories(dir);
  } catch (const fs::filesystem_error& failure) {
    throw std::runtime_error(out_dir + ": cannot create the run folder: " + failure.code().message());
  }
  // Temporaries of a run killed while saving (SIGKILL, power cut): never read, so simply dropped.
  for (const auto* file : {kCheckpointFile, kMetricsFile}) {
    fs::remove(dir / (std::string(file) + files::kTemporarySuffix), error);
  }
  try {
    return train_in(config, split, out_dir, resume, stop, on_epoch);
  } catch (...) {
    if (created && fs::is_empty(dir, error)) {  // a run that failed before writing anything leaves nothing
      fs::remove(dir, error);
    }
    throw;
  }
}

TrainConfig read_checkpoint_config(const std::string& checkpoint_dir) {
  return Checkpoint(checkpoint_path(checkpoint_dir)).state().at("config").get<TrainConfig>();
}

LoadedModel load_model(const std::string& checkpoint_dir) {
  Checkpoint checkpoint(checkpoint_path(checkpoint_dir));
  const auto& state = checkpoint.state();
  LoadedModel loaded{nullptr, Vocabulary(state.at("vocabulary").get<std::vector<std::string>>())};
  loaded.model = RelationModel(state.at("config").get<TrainConfig>(), loaded.vocabulary.size());
  checkpoint.load_model(*loaded.model);
  loaded.model->eval();
  return loaded;
}

torch::Tensor attention_of(LoadedModel& loaded, const std::vector<std::string>& words, int64_t query) {
  torch::NoGradGuard no_grad;
  const Example example{words, query, query == 0 ? 1 : 0, "predict"};
  const auto batch = make_batch({example}, {0}, loaded.vocabulary);
  return loaded.model(batch.ids, batch.lengths, batch.queries)[0];
}

torch::Tensor attention_matrix_of(LoadedModel& loaded, const std::vector<std::string>& words) {
  torch::NoGradGuard no_grad;
  const Example example{words, 0, words.size() > 1 ? 1 : 0, "heatmap"};
  const auto batch = make_batch({example}, {0}, loaded.vocabulary);
  return loaded.model->attention_matrix(batch.ids, batch.lengths)[0];
}

}  // namespace attention::app
