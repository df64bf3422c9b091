// Grouped-query and multi-query attention (keys and values with fewer heads), against PyTorch-computed
// numbers (tests/data/make_reference.py) on every path, and in the modules.
#include <attention/attention.h>

#include "test_support.h"

#include <tuple>
#include <utility>
#include <vector>

namespace attention {
namespace {

using testing::every_path;
using testing::expect_close;
using testing::expect_every_path_matches;
using testing::reference;

class GroupedQueryAttentionTest : public testing::SeededTest {};

TEST_F(GroupedQueryAttentionTest, GroupedQueryAttentionMatchesPyTorchOnEveryPath) {
  const auto padding = reference("gqa", "padding", torch::kBool);
  const auto options =
      AttentionOptions().enable_gqa(true).mask(padding).causal(true).causal_alignment(CausalAlignment::BottomRight);
  expect_every_path_matches("gqa", "context", options);
  const auto [q, k, v] = std::tuple{reference("gqa", "q"), reference("gqa", "k"), reference("gqa", "v")};
  const auto out = attention::scaled_dot_product_attention(q, k, v, options);
  expect_close(out.weights, reference("gqa", "weights"), 1e-12);  // per query head [B, H, Tq, Tk]
}

TEST_F(GroupedQueryAttentionTest, GroupedQueryAttentionWithoutMasksTakesEveryPath) {
  const auto q = torch::randn({2, 6, 9, 4}, torch::kDouble), k = torch::randn({2, 3, 9, 4}, torch::kDouble);
  const auto v = torch::randn({2, 3, 9, 5}, torch::kDouble);
  const auto expected = attention::scaled_dot_product_attention(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1),
                                                                AttentionOptions());
  for (const auto& path : every_path(AttentionOptions().enable_gqa(true))) {
    expect_close(attention::scaled_dot_product_attention(q, k, v, path.options).context, expected.context, 1e-12);
  }
}

TEST_F(GroupedQueryAttentionTest, GroupedQueryAttentionIsRefusedWithoutEnableGqaOrWithAnIndivisibleCount) {
  const auto q = torch::randn({1, 6, 3, 4}), k = torch::randn({1, 4, 3, 4});
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, torch::randn({1, 2, 3, 4}), torch::randn({1, 2, 3, 4})),
                    "fewer key/value heads need enable_gqa(true)");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, k, AttentionOptions().enable_gqa(true)),
                    "divides the query's");
  EXPECT_THROW_WITH(MultiHeadAttention(MultiHeadAttentionOptions(12, 6).num_kv_heads(4)),
                    "num_kv_heads (4) must divide num_heads (6)");
  EXPECT_THROW_WITH(SelfAttention(SelfAttentionOptions(12, 6).num_kv_heads(0)), "num_kv_heads must be > 0");
}

TEST_F(GroupedQueryAttentionTest, GroupedModulesProjectKeysAndValuesToFewerHeads) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(16, 8).num_kv_heads(2));
  EXPECT_EQ(mha->W_k->weight.sizes(), (std::vector<int64_t>{4, 16}));  // Hkv·d = 2·2
  EXPECT_EQ(mha->W_v->weight.sizes(), (std::vector<int64_t>{4, 16}));
  const auto x = torch::randn({3, 5, 16});
  const auto out = mha(x, x, x);
  EXPECT_EQ(out.weights.sizes(), (std::vector<int64_t>{3, 8, 5, 5}));
  // The same module with W_k, W_v repeated per query head is plain multi-head attention.
  MultiHeadAttention plain(MultiHeadAttentionOptions(16, 8));
  {
    torch::NoGradGuard no_grad;
    plain->W_q->weight.copy_(mha->W_q->weight);
    plain->W_q->bias.copy_(mha->W_q->bias);
    plain->W_o->weight.copy_(mha->W_o->weight);
    plain->W_o->bias.copy_(mha->W_o->bias);
    for (auto [ours, theirs] : {std::pair{mha->W_k, plain->W_k}, std::pair{mha->W_v, plain->W_v}}) {
      theirs->weight.copy_(ours->weight.view({2, 1, 2, 16}).expand({2, 4, 2, 16}).reshape({16, 16}));
      theirs->bias.copy_(ours->bias.view({2, 1, 2}).expand({2, 4, 2}).reshape({16}));
    }
  }
  expect_close(out.context, plain(x, x, x).context, 1e-5);
}

}  // namespace
}  // namespace attention
