#include "relations/model.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace attention::app {

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

Batch make_batch(const std::vector<Example>& examples, const Vocabulary& vocabulary) {
  std::vector<size_t> indices(examples.size());
  std::iota(indices.begin(), indices.end(), 0);
  return make_batch(examples, indices, vocabulary);
}

RelationModelImpl::RelationModelImpl(const TrainConfig& config_, Vocabulary vocabulary_)
    : config(config_), vocabulary(std::move(vocabulary_)) {
  TORCH_CHECK(config.dim > 0, "dim must be > 0, got ", config.dim);
  torch::manual_seed(config.seed);
  embeddings = register_module("embeddings", torch::nn::Embedding(vocabulary.size(), config.dim));
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
  const auto x = embeddings(ids);                                                                 // [B, T, D]
  const auto query = x.gather(1, queries.view({B, 1, 1}).expand({B, 1, x.size(2)}));              // [B, 1, D]
  const auto positions = torch::arange(T, ids.options()).unsqueeze(0);                            // [1, T]
  const auto allowed = (positions < lengths.unsqueeze(1)) & (positions != queries.unsqueeze(1));  // [B, T]
  if (single_head) {
    return single_head(query, x, x, allowed.view({B, 1, 1, T})).weights.squeeze(1);
  }
  if (multi_head) {
    return mean_over_heads(multi_head(query, x, x, allowed.view({B, 1, 1, T})).weights).squeeze(1);
  }
  // Non-trainable: plain dot products of the fixed embeddings.
  return attention::scaled_dot_product_attention(query, x, x,
                                                 AttentionOptions().scale(1.0).mask(allowed.view({B, 1, T})))
      .weights.squeeze(1);
}

torch::Tensor RelationModelImpl::attention_matrix(const torch::Tensor& ids, const torch::Tensor& lengths) {
  const auto B = ids.size(0), T = ids.size(1);
  const auto x = embeddings(ids);                                                      // [B, T, D]
  const auto positions = torch::arange(T, ids.options());                              // [T]
  const auto valid = (positions.unsqueeze(0) < lengths.unsqueeze(1)).view({B, 1, T});  // keys within the sentence
  const auto not_self = (positions.view({T, 1}) != positions.view({1, T})).unsqueeze(0);
  const auto allowed = valid & not_self;  // [B, T, T]
  if (single_head) {
    return single_head(x, x, x, allowed.view({B, 1, T, T})).weights.unsqueeze(1);
  }
  if (multi_head) {
    return multi_head(x, x, x, allowed.view({B, 1, T, T})).weights;
  }
  return attention::scaled_dot_product_attention(x, x, x, AttentionOptions().scale(1.0).mask(allowed))
      .weights.unsqueeze(1);
}

torch::Tensor RelationModelImpl::query_attention(const std::vector<std::string>& words, int64_t query) {
  torch::NoGradGuard no_grad;
  // The target is not an input of the model: any other position.
  const auto batch = make_batch({Example{words, query, query == 0 ? 1 : 0, ""}}, vocabulary);
  return forward(batch.ids, batch.lengths, batch.queries)[0];
}

torch::Tensor RelationModelImpl::attention_matrix(const std::vector<std::string>& words) {
  torch::NoGradGuard no_grad;
  const auto batch = make_batch({Example{words, 0, words.size() > 1 ? 1 : 0, ""}}, vocabulary);
  return attention_matrix(batch.ids, batch.lengths)[0];
}

}  // namespace attention::app
