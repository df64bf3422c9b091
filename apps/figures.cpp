#include "figures.h"

#include "words.h"

#include <attention/pictures.h>

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <stdexcept>

namespace attention::app {
namespace {

namespace fs = std::filesystem;
namespace pictures = attention::pictures;

constexpr size_t kHeatmapExamples = 6;     // held-out sentences in heatmaps.png
constexpr size_t kPerRelation = 2;         // of each relation kind, while there are several kinds
constexpr int64_t kEmbeddingRows = 100;    // words drawn in embeddings.png

std::string shape_text(const torch::Tensor& tensor) {
  std::string text = "[";
  for (int64_t d = 0; d < tensor.dim(); ++d) {
    text += (d ? ", " : "") + std::to_string(tensor.size(d));
  }
  return text + "]";
}

std::string model_title(const TrainConfig& config) {
  if (config.model == ModelKind::MultiHead) {
    return "multihead (" + std::to_string(config.heads) + " heads)";
  }
  return model_kind_name(config.model);
}

/// The query's attention `[T]` for one example.
torch::Tensor query_attention(RelationModel& model, const Vocabulary& vocabulary, const Example& example) {
  torch::NoGradGuard no_grad;
  const auto T = static_cast<int64_t>(example.words.size());
  auto ids = torch::empty({1, T}, torch::kLong);
  for (int64_t t = 0; t < T; ++t) {
    ids[0][t] = vocabulary.id(example.words[static_cast<size_t>(t)]);
  }
  return model(ids, torch::full({1}, T, torch::kLong), torch::full({1}, example.query, torch::kLong))[0].clone();
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

std::vector<std::string> marked_words(const LoadedModel& loaded, const std::vector<std::string>& words) {
  std::vector<std::string> labels;
  for (const auto& word : words) {
    labels.push_back(loaded.vocabulary.id(word) == Vocabulary::kUnknown ? word + "?" : word);
  }
  return labels;
}

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

void capture_frame(LearningFrames& learning, RelationModel& model, const Vocabulary& vocabulary, int64_t epoch) {
  if (!learning.active) {
    return;
  }
  learning.frames.push_back(query_attention(model, vocabulary, learning.example));
  learning.names.push_back("epoch " + std::to_string(epoch));
}

std::vector<std::string> training_picture_files(const TrainConfig& config, bool trained) {
  std::vector<std::string> files = {"heatmaps.png"};
  if (trained) {
    files.insert(files.end(), {"weights_W_q.png", "weights_W_k.png", "weights_W_v.png"});
    if (config.model == ModelKind::MultiHead) {
      files.push_back("weights_W_o.png");
    }
  }
  files.push_back("embeddings.png");
  if (trained) {
    files.insert(files.end(), {"training_curves.png", "learning.avi", "learning.png"});
  }
  return files;
}

void write_training_pictures(const std::string& dir, RelationModel& model, RelationModel& baseline,
                             const Vocabulary& vocabulary, const Split& split, const nlohmann::json& history,
                             const LearningFrames& learning) {
  const fs::path folder(dir);
  const auto& config = model->config;
  const auto name = model_title(config);
  torch::NoGradGuard no_grad;

  // Held-out examples: a few of each relation, the trained model against the baseline.
  std::map<std::string, size_t> taken;
  std::vector<pictures::SentenceAttention> sentences;
  const auto& examples = split.test.empty() ? split.train : split.test;
  for (const auto& example : examples) {
    if (sentences.size() == kHeatmapExamples) {
      break;
    }
    if (example.relation != "file" && taken[example.relation]++ >= kPerRelation) {
      continue;
    }
    sentences.push_back({example.words,
                         torch::stack({query_attention(model, vocabulary, example),
                                       query_attention(baseline, vocabulary, example)}),
                         example.query, example.target});
  }
  if (!sentences.empty()) {
    pictures::write_sentence_attention((folder / "heatmaps.png").string(),
                                       {"trained: " + name, "baseline: similarity (no weights)"}, sentences,
                                       std::string(split.test.empty() ? "Training" : "Held-out") +
                                           " examples: where does the query look?");
  }

  for (const auto& [matrix_name, weight] : weight_matrices(model)) {
    pictures::WeightHeatmapOptions options;
    options.title = matrix_name + " " + shape_text(weight) + " of the trained " + name + " model";
    options.note = weight_note(matrix_name) + (config.model == ModelKind::MultiHead ? " (bias not shown)" : "");
    pictures::write_weight_heatmap((folder / ("weights_" + matrix_name + ".png")).string(), weight, options);
  }

  const auto table = model->embeddings->weight;
  const auto rows = std::min<int64_t>(table.size(0), kEmbeddingRows);
  pictures::WeightHeatmapOptions embedding_options;
  embedding_options.title = "Word embeddings " + shape_text(table) + (config.train_embeddings ? ", trained" : ", fixed");
  embedding_options.rows = rows < table.size(0) ? "the first " + std::to_string(rows) + " words" : "words";
  embedding_options.columns = "dimensions";
  embedding_options.scale_label = "value";
  embedding_options.note = "<unk> is the embedding of words never seen in training";
  pictures::write_weight_heatmap((folder / "embeddings.png").string(), table.slice(0, 0, rows), embedding_options,
                                 std::vector<std::string>(vocabulary.words().begin(), vocabulary.words().begin() + rows));

  if (history.empty()) {
    return;  // nothing trained: no curves, no animation
  }
  std::vector<double> loss, test_accuracy, train_accuracy;
  for (const auto& epoch : history) {
    loss.push_back(epoch.at("loss").get<double>());
    test_accuracy.push_back(epoch.at("test_accuracy").get<double>());
    train_accuracy.push_back(epoch.at("train_accuracy").get<double>());
  }
  const double baseline_accuracy = evaluate(baseline, vocabulary, split.test.empty() ? split.train : split.test).accuracy;
  pictures::CurvePanel loss_panel{"training loss", "cross-entropy of the target", {{"trained: " + name, loss}}};
  pictures::CurvePanel accuracy_panel{"accuracy: does the query attend most to its target?",
                                      "accuracy",
                                      {{"trained: held-out", test_accuracy},
                                       {"trained: training set", train_accuracy},
                                       {"baseline (no weights): held-out", {baseline_accuracy}}},
                                      0.0,
                                      1.04,
                                      true};
  pictures::write_training_curves((folder / "training_curves.png").string(), {loss_panel, accuracy_panel},
                                  "Training the " + name + " model, " + std::to_string(history.size()) + " epochs");

  if (learning.active && !learning.frames.empty()) {
    const auto& example = learning.example;
    pictures::AnimationOptions options;
    options.title = "How \"" + example.words[static_cast<size_t>(example.query)] + "\" learns to attend to \"" +
                    example.words[static_cast<size_t>(example.target)] + "\" (" + name + ")";
    options.query = example.query;
    options.target = example.target;
    const auto frames = torch::stack(learning.frames);
    pictures::write_learning_animation((folder / "learning.avi").string(), frames, example.words, learning.names,
                                       options);
    pictures::write_learning_animation((folder / "learning.png").string(), frames, example.words, learning.names,
                                       options);
  }
}

void write_sentence_heatmap(const std::string& path, LoadedModel& loaded, const std::vector<std::string>& words) {
  const auto weights = attention_matrix_of(loaded, words);  // [H, T, T]
  const auto labels = marked_words(loaded, words);
  pictures::HeatmapOptions options;
  options.title = "Attention of the trained " + model_title(loaded.model->config) + " model: \"" + join_words(words, 60) +
                  "\"";
  options.note = "each word's own position is excluded, as in training";
  for (const auto& word : words) {
    if (loaded.vocabulary.id(word) == Vocabulary::kUnknown) {
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

void write_weights_picture(const std::string& path, LoadedModel& loaded) {
  const auto matrices = weight_matrices(loaded.model);
  if (matrices.empty()) {
    throw std::runtime_error("the " + model_kind_name(loaded.model->config.model) +
                             " model has no weight matrices to draw (it has no parameters but the embeddings)");
  }
  std::vector<pictures::NamedMatrix> named;
  for (const auto& [name, weight] : matrices) {
    named.push_back({name + " " + shape_text(weight), weight, {}, {}});
  }
  pictures::WeightHeatmapOptions options;
  options.title = "Weights of the trained " + model_title(loaded.model->config) + " attention layer";
  options.note = "for a word x: query W_q x, key W_k x, value W_v x" +
                 std::string(matrices.size() > 3 ? "; output W_o (heads' values); biases not shown" : "");
  pictures::write_weight_heatmaps(path, named, options);
}

}  // namespace attention::app
