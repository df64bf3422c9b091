#include "relations/pictures.h"

#include "relations/words.h"
#include "training/run_folder.h"

#include <attention/pictures.h>

#include <c10/util/StringUtil.h>
#include <torch/torch.h>

#include <map>
#include <stdexcept>

namespace attention::app {
namespace {

namespace pictures = attention::pictures;

constexpr size_t kHeatmapExamples = 6;   // held-out sentences in heatmaps.png
constexpr size_t kPerRelation = 2;       // of each relation kind, while there are several kinds
constexpr int64_t kEmbeddingRows = 100;  // words drawn in embeddings.png

std::string model_title(const TrainConfig& config) {
  if (config.model == ModelKind::MultiHead) {
    return "multihead (" + std::to_string(config.heads) + " heads)";
  }
  return model_kind_name(config.model);
}

/// Linear submodules W_q, W_k, W_v (, W_o) of the model's attention layer; empty for the simple model.
std::vector<std::pair<std::string, torch::Tensor>> weight_matrices(RelationModel& model) {
  std::vector<std::pair<std::string, torch::Tensor>> matrices;
  if (model->single_head) {
    matrices = {{"W_q", model->single_head->W_q->weight},
                {"W_k", model->single_head->W_k->weight},
                {"W_v", model->single_head->W_v->weight}};
  } else if (model->multi_head) {
    matrices = {{"W_q", model->multi_head->W_q->weight},
                {"W_k", model->multi_head->W_k->weight},
                {"W_v", model->multi_head->W_v->weight},
                {"W_o", model->multi_head->W_o->weight}};
  }
  return matrices;
}

std::string weight_note(const std::string& name) {
  static const std::map<std::string, std::string> notes = {
      {"W_q", "query of a word x = W_q x: what the word looks for"},
      {"W_k", "key of a word x = W_k x: what the word offers to be found by"},
      {"W_v", "value of a word x = W_v x: what the word passes on when attended to"},
      {"W_o", "the output projection that mixes the heads' values"}};
  const auto found = notes.find(name);
  return found == notes.end() ? "" : found->second;
}

std::vector<std::string> marked_words(const RelationModel& model, const std::vector<std::string>& words) {
  std::vector<std::string> labels;
  for (const auto& word : words) {
    labels.push_back(model->vocabulary.id(word) == Vocabulary::kUnknown ? word + "?" : word);
  }
  return labels;
}

/// The pictures of a finished run, each written into the run's folder and named in the list of files written.
class RunPictures {
 public:
  RunPictures(const std::string& dir, const TrainedRun& run, const Split& split)
      : files_(dir), run_(run), model_(run.model), split_(split), name_(model_title(run.model->config)) {}

  std::vector<std::string> write(const LearningFrames& learning) {
    torch::NoGradGuard no_grad;
    write_heatmaps();
    write_weights();
    write_embeddings();
    if (run_.metrics.history.empty()) {
      return files_.written();  // nothing trained: no curves, no animation
    }
    write_curves();
    if (learning.active && !learning.frames.empty()) {
      write_learning(learning);
    }
    return files_.written();
  }

 private:
  /// Held-out examples: a few of each relation, the trained model against the baseline.
  void write_heatmaps() {
    std::map<std::string, size_t> taken;
    std::vector<pictures::SentenceAttention> sentences;
    const auto& examples = split_.test.empty() ? split_.train : split_.test;
    auto baseline = run_.baseline;
    for (const auto& example : examples) {
      if (sentences.size() == kHeatmapExamples) {
        break;
      }
      if (example.relation != "file" && taken[example.relation]++ >= kPerRelation) {
        continue;
      }
      sentences.push_back({example.words,
                           torch::stack({model_->query_attention(example.words, example.query),
                                         baseline->query_attention(example.words, example.query)}),
                           example.query, example.target});
    }
    if (!sentences.empty()) {
      pictures::write_sentence_attention(
          files_.path("heatmaps.png"), {"trained: " + name_, "baseline: similarity (no weights)"}, sentences,
          std::string(split_.test.empty() ? "Training" : "Held-out") + " examples: where does the query look?");
    }
  }

  void write_weights() {
    const auto& config = model_->config;
    for (const auto& [matrix_name, weight] : weight_matrices(model_)) {
      pictures::WeightHeatmapOptions options;
      options.title = matrix_name + " " + c10::str(weight.sizes()) + " of the trained " + name_ + " model";
      options.note = weight_note(matrix_name) + (config.model == ModelKind::MultiHead ? " (bias not shown)" : "");
      pictures::write_weight_heatmap(files_.path("weights_" + matrix_name + ".png"), weight, options);
    }
  }

  void write_embeddings() {
    const auto table = model_->embeddings->weight;
    const auto rows = std::min<int64_t>(table.size(0), kEmbeddingRows);
    const auto& words = model_->vocabulary.words();
    pictures::WeightHeatmapOptions options;
    options.title =
        "Word embeddings " + c10::str(table.sizes()) + (model_->config.train_embeddings ? ", trained" : ", fixed");
    options.rows = rows < table.size(0) ? "the first " + std::to_string(rows) + " words" : "words";
    options.columns = "dimensions";
    options.scale_label = "value";
    options.note = "<unk> is the embedding of words never seen in training";
    pictures::write_weight_heatmap(files_.path("embeddings.png"), table.slice(0, 0, rows), options,
                                   std::vector<std::string>(words.begin(), words.begin() + rows));
  }

  void write_curves() {
    const auto& history = run_.metrics.history;
    std::vector<double> loss, test_accuracy, train_accuracy;
    for (const auto& epoch : history) {
      loss.push_back(epoch.loss);
      test_accuracy.push_back(epoch.test_accuracy);
      train_accuracy.push_back(epoch.train_accuracy);
    }
    pictures::CurvePanel loss_panel{"training loss", "cross-entropy of the target", {{"trained: " + name_, loss}}};
    pictures::CurvePanel accuracy_panel{"accuracy: does the query attend most to its target?",
                                        "accuracy",
                                        {{"trained: held-out", test_accuracy},
                                         {"trained: training set", train_accuracy},
                                         {"baseline (no weights): held-out", {run_.metrics.baseline.test_accuracy}}},
                                        0.0,
                                        1.04,
                                        true};
    pictures::write_training_curves(files_.path("training_curves.png"), {loss_panel, accuracy_panel},
                                    "Training the " + name_ + " model, " + std::to_string(history.size()) + " epochs");
  }

  void write_learning(const LearningFrames& learning) {
    const auto& example = learning.example;
    pictures::AnimationOptions options;
    options.title = "How \"" + example.words[static_cast<size_t>(example.query)] + "\" learns to attend to \"" +
                    example.words[static_cast<size_t>(example.target)] + "\" (" + name_ + ")";
    options.query = example.query;
    options.target = example.target;
    const auto frames = torch::stack(learning.frames);
    for (const auto* file : {"learning.avi", "learning.png"}) {
      pictures::write_learning_animation(files_.path(file), frames, example.words, learning.names, options);
    }
  }

  RunFiles files_;
  const TrainedRun& run_;
  RelationModel model_;
  const Split& split_;
  std::string name_;
};

}  // namespace

LearningFrames watch_example(const Split& split) {
  LearningFrames learning;
  const auto& pool = split.test.empty() ? split.train : split.test;
  if (pool.empty()) {
    return learning;
  }
  const Example* chosen = &pool.front();
  const Example* property = nullptr;
  for (const auto& example : pool) {
    if (example.words[static_cast<size_t>(example.query)] == "warm") {
      chosen = &example;
      property = nullptr;
      break;
    }
    if (!property && example.relation == "property") {
      property = &example;
    }
  }
  learning.example = property ? *property : *chosen;
  learning.active = true;
  return learning;
}

TrainCallbacks capture_frames(LearningFrames& learning, std::function<void(const EpochReport&)> report) {
  const auto capture = [&learning](RelationModel& model, int64_t epoch) {
    if (learning.active) {
      learning.frames.push_back(model->query_attention(learning.example.words, learning.example.query));
      learning.names.push_back("epoch " + std::to_string(epoch));
    }
  };
  TrainCallbacks callbacks;
  callbacks.on_start = capture;
  callbacks.on_epoch = [capture, report = std::move(report)](const EpochReport& epoch, RelationModel& model) {
    capture(model, epoch.epoch);
    if (report) {
      report(epoch);
    }
  };
  return callbacks;
}

std::vector<std::string> write_training_pictures(const std::string& dir, const TrainedRun& run, const Split& split,
                                                 const LearningFrames& learning) {
  return RunPictures(dir, run, split).write(learning);
}

void write_sentence_heatmap(const std::string& path, RelationModel& model, const std::vector<std::string>& words) {
  const auto weights = model->attention_matrix(words);  // [H, T, T]
  const auto labels = marked_words(model, words);
  pictures::HeatmapOptions options;
  options.title =
      "Attention of the trained " + model_title(model->config) + " model: \"" + join_words(words, 60) + "\"";
  options.note = "each word's own position is excluded, as in training";
  for (const auto& word : words) {
    if (model->vocabulary.id(word) == Vocabulary::kUnknown) {
      options.note += "; word?: unseen in training (the unknown-word embedding)";
      break;
    }
  }
  if (weights.size(0) > 1) {
    pictures::write_head_grid(path, weights, labels, labels, options);
  } else {
    pictures::write_attention_heatmap(path, weights[0], labels, labels, options);
  }
}

void write_weights_picture(const std::string& path, RelationModel& model) {
  const auto matrices = weight_matrices(model);
  if (matrices.empty()) {
    throw std::runtime_error("the " + model_kind_name(model->config.model) +
                             " model has no weight matrices to draw (it has no parameters but the embeddings)");
  }
  std::vector<pictures::NamedMatrix> named;
  for (const auto& [name, weight] : matrices) {
    named.push_back({name + " " + c10::str(weight.sizes()), weight, {}, {}});
  }
  pictures::WeightHeatmapOptions options;
  options.title = "Weights of the trained " + model_title(model->config) + " attention layer";
  options.note = "for a word x: query W_q x, key W_k x, value W_v x" +
                 std::string(matrices.size() > 3 ? "; output W_o (heads' values); biases not shown" : "");
  pictures::write_weight_heatmaps(path, named, options);
}

}  // namespace attention::app
