// ALiBi: the paper's slopes and the biased attention, against PyTorch-computed numbers
// (tests/data/make_reference.py) on every path.
#include <attention/attention.h>

#include "test_support.h"

namespace attention {
namespace {

using testing::expect_close;
using testing::expect_every_path_matches;
using testing::reference;

class AlibiTest : public testing::SeededTest {};

TEST_F(AlibiTest, AlibiSlopesFollowThePaperForEveryHeadCount) {
  expect_close(alibi_slopes(6), reference("alibi", "slopes_6", torch::kFloat), 1e-7);
  expect_close(alibi_slopes(8), reference("alibi", "slopes_8", torch::kFloat), 1e-7);
  EXPECT_EQ(alibi_slopes(6).scalar_type(), torch::kFloat);
  EXPECT_THROW_WITH(alibi_slopes(0), "num_heads must be > 0");
}

TEST_F(AlibiTest, AlibiMatchesPyTorchOnEveryPath) {
  expect_every_path_matches("alibi", "context", AttentionOptions().alibi_slopes(alibi_slopes(6)).causal(true),
                            1e-6);  // float32 slopes
  const auto q = torch::randn({1, 6, 7, 4});
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, q, q, AttentionOptions().alibi_slopes(alibi_slopes(4))),
                    "one slope per query head (H = 6");
}

}  // namespace
}  // namespace attention
