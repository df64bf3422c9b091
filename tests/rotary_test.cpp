// Rotary position embeddings against Llama's rotate-half, computed by PyTorch (tests/data/make_reference.py).
#include <attention/attention.h>

#include "test_support.h"

#include <cmath>

namespace attention {
namespace {

using testing::expect_close;
using testing::reference;

class RotaryTest : public testing::SeededTest {};

TEST_F(RotaryTest, RotaryEmbeddingMatchesLlamasRotateHalf) {
  const auto x = reference("rotary", "x");
  const auto positions = reference("rotary", "positions", torch::kLong);
  expect_close(rotary_embedding(x, positions), reference("rotary", "rotated"), 1e-12);
  expect_close(rotary_embedding(x, reference("rotary", "positions_bt", torch::kLong), 500.0),
               reference("rotary", "rotated_bt"), 1e-12);
  // float32 stays within 1e-4 at position 65536, where float32 angles would be off by ~4e-3.
  expect_close(rotary_embedding(x.to(torch::kFloat), positions), reference("rotary", "rotated"), 1e-4);
  EXPECT_THROW_WITH(rotary_embedding(torch::randn({3, 5}), torch::arange(3)), "d must be even");
  EXPECT_THROW_WITH(rotary_embedding(torch::randn({3, 4}), torch::arange(4)), "positions must be [T] or [B, T]");
  EXPECT_THROW_WITH(rotary_embedding(torch::randn({3, 4}), torch::rand({3})), "positions must be an integer tensor");
}

TEST_F(RotaryTest, RotaryScoresDependOnlyOnRelativePositions) {
  const auto q = torch::randn({1, 1, 8}, torch::kDouble), k = torch::randn({1, 1, 8}, torch::kDouble);
  const auto score_at = [&](int64_t query_position, int64_t key_position) {
    return (rotary_embedding(q, torch::tensor({query_position})) * rotary_embedding(k, torch::tensor({key_position})))
        .sum()
        .item<double>();
  };
  EXPECT_NEAR(score_at(7, 3), score_at(1004, 1000), 1e-9);
  EXPECT_GT(std::abs(score_at(7, 3) - score_at(7, 4)), 1e-6);
}

}  // namespace
}  // namespace attention
