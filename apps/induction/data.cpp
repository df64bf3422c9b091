#include "induction/data.h"

#include <torch/torch.h>

#include <random>
#include <stdexcept>
#include <string>

namespace attention::app {
namespace {

/// SplitMix64's finaliser: well-mixed seeds from nearby numbers.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The seed of stream (`epoch`, `step`) of `seed`; stream (0, 0) is the held-out set, training uses epochs >= 1.
uint64_t stream_seed(uint64_t seed, uint64_t epoch, uint64_t step) { return mix(mix(mix(seed) ^ epoch) ^ step); }

void check_sizes(const InductionConfig& config, int64_t count) {
  const auto fail = [](const std::string& what) { throw std::invalid_argument("induction sequences: " + what); };
  if (config.min_segment < 2 || config.min_segment > config.max_segment) {
    fail("segment lengths must satisfy 2 <= min_segment <= max_segment, got " + std::to_string(config.min_segment) +
         " and " + std::to_string(config.max_segment));
  }
  if (2 * config.max_segment > config.length) {
    fail("a sequence of " + std::to_string(config.length) + " tokens cannot hold two copies of a segment of " +
         std::to_string(config.max_segment));
  }
  if (config.vocabulary < 2) {
    fail("the vocabulary needs at least 2 tokens, got " + std::to_string(config.vocabulary));
  }
  if (count < 1) {
    fail("needs at least one sequence, got " + std::to_string(count));
  }
}

}  // namespace

Sequences generate_sequences(const InductionConfig& config, int64_t count, uint64_t seed) {
  check_sizes(config, count);
  std::mt19937_64 rng(seed);
  const auto T = config.length;
  Sequences sequences{torch::empty({count, T}, torch::kLong), torch::empty({count}, torch::kLong),
                      torch::empty({count}, torch::kLong)};
  auto tokens = sequences.tokens.accessor<int64_t, 2>();
  std::uniform_int_distribution<int64_t> token(0, config.vocabulary - 1);
  std::uniform_int_distribution<int64_t> length(config.min_segment, config.max_segment);
  for (int64_t b = 0; b < count; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      tokens[b][t] = token(rng);
    }
    const auto L = length(rng);
    const auto first = std::uniform_int_distribution<int64_t>(0, T - 2 * L)(rng);
    for (int64_t i = 0; i < L; ++i) {
      tokens[b][first + L + i] = tokens[b][first + i];
    }
    sequences.repeat[b] = first + L;
    sequences.segment[b] = L;
  }
  return sequences;
}

Sequences training_batch(const InductionConfig& config, int64_t epoch, int64_t step) {
  return generate_sequences(config, config.batch_size,
                            stream_seed(config.seed, static_cast<uint64_t>(epoch) + 1, static_cast<uint64_t>(step)));
}

Sequences held_out_sequences(const InductionConfig& config) {
  return generate_sequences(config, config.test_sequences, stream_seed(config.seed, 0, 0));
}

torch::Tensor repeated_predictions(const Sequences& sequences) {
  const auto T = sequences.tokens.size(1);
  const auto t = torch::arange(T - 1, torch::kLong).unsqueeze(0);  // [1, T - 1]
  const auto r = sequences.repeat.unsqueeze(1), L = sequences.segment.unsqueeze(1);
  return (t >= r) & (t <= r + L - 2);
}

}  // namespace attention::app
