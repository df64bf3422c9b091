#pragma once
// The options of a run of the relation task (`attention train`): the model, the training and the data.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attention::app {

/// The attention layer of the relation model.
enum class ModelKind {
  Simple,     ///< "simple": dot products of the fixed embeddings, no parameters (the baseline)
  Scaled,     ///< "scaled": one head with W_q, W_k, W_v
  MultiHead,  ///< "multihead": MultiHeadAttention with W_q, W_k, W_v, W_o
};

/// The names of the model kinds, in the order of ModelKind: the values of --model, and how metrics.json and
/// checkpoints write them.
const std::vector<std::string>& model_kind_names();
const std::string& model_kind_name(ModelKind kind);
/// The kind named `name`; std::invalid_argument naming it and the known names when there is none.
ModelKind model_kind_from_name(const std::string& name);

/// Written as its name. Not NLOHMANN_JSON_SERIALIZE_ENUM: that reads an unknown name as the first kind,
/// silently; this throws.
void to_json(nlohmann::json& json, ModelKind kind);
void from_json(const nlohmann::json& json, ModelKind& kind);

/// Options of a training run: everything needed to rebuild the model, with the vocabulary. Stored in the
/// checkpoint and in metrics.json (under "model"), by these names.
struct TrainConfig {
  ModelKind model = ModelKind::Scaled;
  int64_t heads = 4;  ///< heads of ModelKind::MultiHead
  int64_t dim = 128;  ///< width of the word embeddings and of the attention layer
  int64_t epochs = 30;
  int64_t batch_size = 32;
  double lr = 0.01;               ///< Adam's learning rate
  uint64_t seed = 1;              ///< seeds the embeddings, the weights, the data split and the batch order
  bool train_embeddings = false;  ///< by default the embeddings stay fixed, so only attention can learn
  std::string data;               ///< training file, empty for the built-in task
  std::string test_data;          ///< held-out file, empty for a seeded split of `data`
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainConfig, model, heads, dim, epochs, batch_size, lr, seed, train_embeddings, data,
                                   test_data)

}  // namespace attention::app
