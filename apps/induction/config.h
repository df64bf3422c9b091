#pragma once
// The options of a run of the induction task (`attention train --task induction`): the model, the generated
// sequences and the training.

#include <nlohmann/json.hpp>

#include <cstdint>

namespace attention::app {

/// Options of an induction run: everything needed to rebuild its models and its data. Stored in the checkpoint
/// and in metrics.json (under "model"), by these names.
struct InductionConfig {
  int64_t layers = 2;  ///< of the trained model; the baseline has 1
  int64_t heads = 4;   ///< per layer
  int64_t dim = 64;    ///< width of the token embeddings and of the residual stream
  bool mlp = false;    ///< an MLP block after each attention layer (none by default: attention alone)
  int64_t vocabulary = 64;
  int64_t length = 40;       ///< tokens per sequence
  int64_t min_segment = 8;   ///< shortest repeated segment
  int64_t max_segment = 20;  ///< longest; 2 * max_segment <= length
  int64_t epochs = 20;       ///< an epoch: steps_per_epoch steps, then an evaluation and a checkpoint
  int64_t steps_per_epoch = 50;
  int64_t batch_size = 32;       ///< sequences per step, fresh every step
  double lr = 3e-3;              ///< Adam's learning rate
  uint64_t seed = 1;             ///< seeds the weights and every sequence
  int64_t test_sequences = 256;  ///< held-out sequences the models are evaluated on
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InductionConfig, layers, heads, dim, mlp, vocabulary, length, min_segment,
                                   max_segment, epochs, steps_per_epoch, batch_size, lr, seed, test_sequences)

}  // namespace attention::app
