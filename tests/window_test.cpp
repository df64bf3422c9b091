// Sliding windows, against PyTorch-computed numbers (tests/data/make_reference.py) on every path.
#include <attention/attention.h>

#include "test_support.h"

namespace attention {
namespace {

using testing::every_path;
using testing::expect_close;
using testing::expect_every_path_matches;

class SlidingWindowTest : public testing::SeededTest {};

TEST_F(SlidingWindowTest, SlidingWindowsMatchPyTorchOnEveryPath) {
  const auto bottom_right = AttentionOptions().window(2).causal_alignment(CausalAlignment::BottomRight);
  expect_every_path_matches("window", "local_context", bottom_right);
  expect_every_path_matches("window", "causal_context", AttentionOptions(bottom_right).causal(true));
}

TEST_F(SlidingWindowTest, AWindowEqualsItsLocalMask) {
  const auto q = torch::randn({2, 40, 8}, torch::kDouble), k = torch::randn({2, 40, 8}, torch::kDouble);
  const auto v = torch::randn({2, 40, 3}, torch::kDouble);
  const auto expected =
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(local_mask(40, 40, 5)));
  for (const auto& path : every_path(AttentionOptions().window(5))) {
    expect_close(attention::scaled_dot_product_attention(q, k, v, path.options).context, expected.context, 1e-12);
  }
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, v, AttentionOptions().window(-1)),
                    "window must be >= 0");
}

}  // namespace
}  // namespace attention
