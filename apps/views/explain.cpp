#include "views/explain.h"

#include "relations/words.h"

#include <attention/attention.h>
#include <attention/pictures.h>

#include <c10/util/StringUtil.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <stdexcept>

namespace attention::app {
namespace {

namespace pictures = attention::pictures;

constexpr int kWidth = 9;  // column width of printed numbers

torch::Tensor tutorial_embeddings() {
  return torch::tensor({{0.43, 0.15, 0.89},
                        {0.55, 0.87, 0.66},
                        {0.57, 0.85, 0.64},
                        {0.22, 0.58, 0.33},
                        {0.77, 0.25, 0.10},
                        {0.05, 0.80, 0.55}},
                       torch::kFloat);
}

/// Prints a 1-d tensor as one row of numbers.
void print_row(std::ostream& out, const torch::Tensor& row) {
  const auto values = row.to(torch::kDouble).contiguous();
  for (int64_t j = 0; j < values.size(0); ++j) {
    out << std::setw(kWidth) << std::fixed << std::setprecision(4) << values[j].item<double>();
  }
  out << "\n";
}

/// Prints a 2-d tensor with a label per row (and per column when `column_labels` is given).
void print_matrix(std::ostream& out, const torch::Tensor& matrix, const std::vector<std::string>& row_labels,
                  const std::vector<std::string>& column_labels = {}) {
  size_t label_width = 0;
  for (const auto& label : row_labels) {
    label_width = std::max(label_width, label.size());
  }
  if (!column_labels.empty()) {
    out << "    " << std::string(label_width, ' ');
    for (const auto& label : column_labels) {
      out << std::setw(kWidth) << label.substr(0, kWidth - 1);
    }
    out << "\n";
  }
  for (int64_t i = 0; i < matrix.size(0); ++i) {
    out << "    " << std::left << std::setw(static_cast<int>(label_width)) << row_labels.at(i) << std::right;
    print_row(out, matrix[i]);
  }
}

void heading(std::ostream& out, int step, const std::string& title) { out << "\n" << step << ". " << title << "\n"; }

namespace fs = std::filesystem;

void create_folder(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error || !fs::is_directory(dir)) {
    throw std::runtime_error("cannot create the folder " + dir + " for the pictures" +
                             (error ? ": " + error.message() : ""));
  }
}

/// The tensors of the walk-through that the pictures show.
struct Steps {
  std::vector<std::string> words;
  int64_t query = 0;
  torch::Tensor inputs;             // [T, 3]
  torch::Tensor scores;             // [T, T]
  torch::Tensor large_scores;       // [T] the query's scores x 100
  torch::Tensor context;            // [T, 3]
  torch::Tensor W_q, W_k, W_v;      // [2, 3]
  torch::Tensor scaled_scores;      // [T, T]
  torch::Tensor trainable_weights;  // [T, T]
  torch::Tensor trainable_context;  // [T, 2]
  std::string sentence;
};

/// Writes a picture of each step into `dir`; returns their file names, in step order.
std::vector<std::string> write_pictures(const std::string& dir, const Steps& steps) {
  std::vector<std::string> written;
  const auto path = [&](const std::string& name) {
    written.push_back(name);
    return (fs::path(dir) / name).string();
  };
  const auto& words = steps.words;
  const auto& query_word = words[static_cast<size_t>(steps.query)];
  const std::string quoted = "\"" + steps.sentence + "\"";

  pictures::write_embedding_map(path("01_embeddings.png"), steps.inputs, words,
                                "Step 1: the input embeddings of " + quoted);
  const auto heatmap = [&](const std::string& name, const torch::Tensor& matrix, const std::string& title,
                           const std::string& scale_label, const std::string& note) {
    pictures::HeatmapOptions options;
    options.title = title;
    options.scale_label = scale_label;
    options.note = note;
    pictures::write_attention_heatmap(path(name), matrix, words, words, options);
  };
  heatmap("02_scores.png", steps.scores, "Step 2: attention scores, the dot products x_q . x_k", "score",
          "row \"" + query_word + "\" is the query followed in the text; larger: more similar");
  heatmap("03_naive_normalisation.png", steps.scores / steps.scores.sum(1, true),
          "Step 3: naive normalisation, each score / the sum of its row", "weight",
          "each row sums to 1, but negative scores would give negative weights");
  heatmap("04_softmax_naive.png", softmax_naive(steps.scores, 1), "Step 4: naive softmax, exp(score) / row sum",
          "attention weight", "positive weights, each row sums to 1");
  heatmap("05_softmax_stable.png", softmax_stable(steps.scores, 1),
          "Step 5: stable softmax, exp(score - row max) / row sum", "attention weight",
          "the same weights as step 4; 05_overflow.png shows why the stable one matters");
  {
    pictures::HeatmapOptions options;
    options.title = "Step 5: scores of \"" + query_word + "\" x 100: exp() overflows in the naive softmax";
    options.rows = "softmax";
    options.columns = "keys";
    options.min = 0;
    options.max = 1;
    options.note = "grey nan cells: exp(score) is inf past ~88.7 in float32, and inf / inf is not a number";
    pictures::write_attention_heatmap(
        path("05_overflow.png"), torch::stack({softmax_naive(steps.large_scores), softmax_stable(steps.large_scores)}),
        {"naive", "stable"}, words, options);
  }
  const std::vector<std::string> dims = {"dim 1", "dim 2", "dim 3"};
  {
    pictures::WeightHeatmapOptions options;
    options.title = "Steps 6-7: context vectors Z = A X, each a weighted mix of all embeddings";
    options.rows = "words (queries)";
    options.columns = "embedding dimensions";
    options.scale_label = "value";
    options.note = "A: the weights of step 5; row \"" + query_word + "\" is the context vector of step 6";
    pictures::write_weight_heatmap(path("06_context_vectors.png"), steps.context, options, words, dims);
  }
  {
    pictures::WeightHeatmapOptions options;
    options.title = "Step 8: trainable W_q, W_k, W_v project each 3-d word to 2-d";
    options.rows = "projected dimensions";
    options.columns = "embedding dimensions";
    options.note = "for a word x: query W_q x, key W_k x, value W_v x; training shapes these numbers";
    pictures::write_weight_heatmaps(
        path("08_W_q_W_k_W_v.png"),
        {{"W_q", steps.W_q, {}, dims}, {"W_k", steps.W_k, {}, dims}, {"W_v", steps.W_v, {}, dims}}, options);
  }
  heatmap("09_scaled_scores.png", steps.scaled_scores, "Step 9: scaled scores q . k / sqrt(d_k)", "scaled score",
          "queries and keys from W_q and W_k; dividing by sqrt(d_k) keeps the softmax from saturating");
  heatmap("09_trainable_attention.png", steps.trainable_weights, "Step 9: trainable attention weights",
          "attention weight", "the softmax of the scaled scores, row by row");
  {
    pictures::WeightHeatmapOptions options;
    options.title = "Step 10: trainable context vectors, the weights of step 9 times the values";
    options.rows = "words (queries)";
    options.columns = "value dimensions";
    options.scale_label = "value";
    pictures::write_weight_heatmap(path("10_trainable_context.png"), steps.trainable_context, options, words,
                                   {"dim 1", "dim 2"});
  }
  return written;
}

}  // namespace

std::vector<std::string> explain(const ExplainOptions& options, std::ostream& out) {
  const bool tutorial = options.words.empty();
  const auto words = tutorial ? split_words(kTutorialSentence) : options.words;
  if (options.query_index >= words.size()) {
    throw std::invalid_argument("query index " + std::to_string(options.query_index) + " is past the end of a " +
                                std::to_string(words.size()) + "-word sentence");
  }
  if (!options.out_dir.empty()) {
    create_folder(options.out_dir);
  }
  torch::manual_seed(options.seed);
  const auto inputs = tutorial ? tutorial_embeddings() : torch::rand({static_cast<int64_t>(words.size()), 3});
  const auto q = static_cast<int64_t>(options.query_index);
  const auto& query_word = words[options.query_index];

  out << "Attention, step by step, for \"" << join_words(words) << "\", following the query \"" << query_word
      << "\".\n";

  heading(out, 1,
          "Input embeddings x, one row per word " + c10::str(inputs.sizes()) +
              (tutorial ? " (the tutorial's 3-d vectors)"
                        : " (random 3-d vectors, seed " + std::to_string(options.seed) + ")"));
  print_matrix(out, inputs, words);

  const auto scores = torch::matmul(inputs, inputs[q]);  // [T]
  heading(out, 2,
          "Attention scores of \"" + query_word + "\": dot products w_j = x_q . x_j " + c10::str(scores.sizes()));
  print_matrix(out, scores.unsqueeze(0), {query_word}, words);

  heading(out, 3, "Naive normalisation w_j / sum(w): sums to 1, but is not a probability for negative scores");
  print_matrix(out, (scores / scores.sum()).unsqueeze(0), {query_word}, words);

  heading(out, 4, "Naive softmax exp(w_j) / sum(exp(w)): positive weights that sum to 1");
  print_matrix(out, softmax_naive(scores).unsqueeze(0), {query_word}, words);

  heading(out, 5, "Stable softmax exp(w_j - max w) / sum(exp(w - max w)): the same numbers...");
  print_matrix(out, softmax_stable(scores).unsqueeze(0), {query_word}, words);
  const auto large = scores * 100;
  out << "   ...and why it matters. Scores 100 times larger (max " << std::fixed << std::setprecision(1)
      << large.max().item<float>() << "): exp() overflows float32 past ~88.7.\n";
  print_matrix(out, torch::stack({softmax_naive(large), softmax_stable(large)}), {"naive", "stable"}, words);

  const auto weights = softmax_stable(scores);                       // [T]
  const auto context = torch::matmul(weights.unsqueeze(0), inputs);  // [1, 3]
  heading(out, 6, "Context vector of \"" + query_word + "\": z = sum_j a_j x_j " + c10::str(context[0].sizes()));
  print_matrix(out, context, {query_word});

  const auto all = simple_attention(inputs);
  heading(out, 7,
          "All words at once: A = softmax(X X^T) " + c10::str(all.weights.sizes()) + ", Z = A X " +
              c10::str(all.context.sizes()));
  out << "   Attention weights A (rows: queries, columns: keys; each row sums to 1)\n";
  print_matrix(out, all.weights, words, words);
  out << "   Context vectors Z\n";
  print_matrix(out, all.context, words);

  torch::manual_seed(options.seed);
  ScaledDotProductAttention trainable(ScaledDotProductAttentionOptions(3, 2));
  torch::NoGradGuard no_grad;
  const auto Q = trainable->W_q(inputs), K = trainable->W_k(inputs), V = trainable->W_v(inputs);
  const double d_k = static_cast<double>(K.size(1));
  heading(out, 8,
          "Trainable attention: learnable W_q, W_k, W_v (3 -> 2, seed " + std::to_string(options.seed) +
              ") project every word to a query, a key and a value");
  out << "   W_q " << trainable->W_q->weight.sizes() << " (queries = x W_q^T, " << Q.sizes() << ")\n";
  print_matrix(out, trainable->W_q->weight, {"", ""});
  out << "   W_k " << trainable->W_k->weight.sizes() << " (keys = x W_k^T, " << K.sizes() << ")\n";
  print_matrix(out, trainable->W_k->weight, {"", ""});
  out << "   W_v " << trainable->W_v->weight.sizes() << " (values = x W_v^T, " << V.sizes() << ")\n";
  print_matrix(out, trainable->W_v->weight, {"", ""});

  const auto trained_scores = torch::matmul(K, Q[q]);  // [T]
  heading(out, 9,
          "Scores of \"" + query_word + "\" are now q . k_j, scaled by 1/sqrt(d_k) = 1/sqrt(" +
              std::to_string(static_cast<int>(d_k)) + ") to keep the softmax from saturating");
  print_matrix(
      out,
      torch::stack({trained_scores, trained_scores / std::sqrt(d_k), softmax_stable(trained_scores / std::sqrt(d_k))}),
      {"q.k", "q.k/sqrt(d_k)", "weights"}, words);

  const auto out_all = trainable(inputs, inputs, inputs);
  heading(out, 10,
          "All context vectors softmax(Q K^T / sqrt(d_k)) V " + c10::str(out_all.context.sizes()) +
              ": what training will shape through W_q, W_k, W_v");
  print_matrix(out, out_all.context, words);

  if (options.out_dir.empty()) {
    return {};
  }
  Steps steps;
  steps.words = words;
  steps.query = q;
  steps.inputs = inputs;
  steps.scores = torch::matmul(inputs, inputs.t());
  steps.large_scores = large;
  steps.context = all.context;
  steps.W_q = trainable->W_q->weight;
  steps.W_k = trainable->W_k->weight;
  steps.W_v = trainable->W_v->weight;
  steps.scaled_scores = torch::matmul(Q, K.t()) / std::sqrt(d_k);
  steps.trainable_weights = out_all.weights;
  steps.trainable_context = out_all.context;
  steps.sentence = join_words(words);
  const auto pictures = write_pictures(options.out_dir, steps);
  out << "\nPictures of each step in " << options.out_dir << ":";
  for (const auto& file : pictures) {
    out << " " << file;
  }
  out << "\n";
  return pictures;
}

}  // namespace attention::app
