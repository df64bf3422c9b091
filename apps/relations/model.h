#pragma once
// The model of the relation task: word embeddings (fixed, unless trained too) and one attention layer. Its
// prediction for an example is the word its query attends to most, its own position excluded.

#include "relations/config.h"
#include "relations/data.h"

#include <attention/attention.h>

#include <torch/nn/modules/embedding.h>

#include <string>
#include <vector>

namespace attention::app {

/// Examples as padded model inputs.
struct Batch {
  torch::Tensor ids;      ///< `[B, T]` word ids, Vocabulary::kUnknown after the end of each sentence
  torch::Tensor lengths;  ///< `[B]` words of each sentence
  torch::Tensor queries;  ///< `[B]` position of each query
  torch::Tensor targets;  ///< `[B]` position of each target
};

/// The batch of `examples[indices]`, words unknown to `vocabulary` as Vocabulary::kUnknown.
Batch make_batch(const std::vector<Example>& examples, const std::vector<size_t>& indices,
                 const Vocabulary& vocabulary);
/// The batch of all `examples`.
Batch make_batch(const std::vector<Example>& examples, const Vocabulary& vocabulary);

class RelationModelImpl : public torch::nn::Module {
 public:
  /// Seeds LibTorch's generator with config.seed: models of one configuration and vocabulary start equal (the
  /// baseline shares the trained model's embeddings). Throws c10::Error for options the attention layer refuses
  /// (MultiHeadAttention: heads that do not divide dim).
  RelationModelImpl(const TrainConfig& config, Vocabulary vocabulary);

  /// ids `[B, T]` (padding after `lengths` `[B]`), query positions `[B]` → the query's attention `[B, T]`
  /// over the words (zero at its own position and on padding).
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& lengths, const torch::Tensor& queries);
  /// ids `[B, T]`, lengths `[B]` → every word's attention over the words, per head: `[B, H, T, T]` (H = heads
  /// of ModelKind::MultiHead, 1 otherwise; row q is what forward() gives for query q, its own position and the
  /// padding excluded; the rows of padding are 0).
  torch::Tensor attention_matrix(const torch::Tensor& ids, const torch::Tensor& lengths);

  /// The attention `[T]` of word `query` of `words` over them, words unknown to the vocabulary included. No
  /// gradients.
  torch::Tensor query_attention(const std::vector<std::string>& words, int64_t query);
  /// Every word's attention over the words, per head: `[H, T, T]` (see attention_matrix). No gradients.
  torch::Tensor attention_matrix(const std::vector<std::string>& words);

  TrainConfig config;
  Vocabulary vocabulary;
  torch::nn::Embedding embeddings = nullptr;
  ScaledDotProductAttention single_head = nullptr;  ///< ModelKind::Scaled
  MultiHeadAttention multi_head = nullptr;          ///< ModelKind::MultiHead
};
TORCH_MODULE(RelationModel);

}  // namespace attention::app
