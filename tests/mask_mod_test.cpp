// mask_mod (FlexAttention's mask modification) and block masks: documents packed into one row, a prefix language
// model and their combinations against PyTorch-computed numbers and gradients (tests/data/make_reference.py) on every
// path; a mask_mod equals its dense bool mask; create_block_mask's blocks counted by hand, and attention through a
// block mask equal to attention through its mask_mod.
#include <attention/attention.h>

#include "test_support.h"

#include <string>
#include <utility>
#include <vector>

namespace attention {
namespace {

using testing::every_path;
using testing::expect_close;
using testing::expect_every_path_matches;
using testing::forward_and_backward;
using testing::reference;
using testing::reference_leaves;

// key <= query, by positions: causal as a mask_mod.
torch::Tensor causal_mod(const ScoreIndex& index) { return index.key <= index.query; }

class MaskModTest : public testing::SeededTest {};

TEST_F(MaskModTest, DocumentMaskWithCausalGetsPyTorchsGradientsOnEveryPath) {
  const auto inputs = reference_leaves("mask_mod", {"q", "k", "v"});
  const auto ids = reference("mask_mod", "ids", torch::kLong);  // [B, T]
  for (const auto& path : every_path(AttentionOptions().mask_mod(document_mask(ids)).causal(true))) {
    SCOPED_TRACE(path.name);
    const auto outcome = forward_and_backward(
        [&] { return attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options).context; },
        inputs);
    expect_close(outcome.context, reference("mask_mod", "document_causal_context"), 1e-10);
    expect_close(outcome.gradients[0], reference("mask_mod", "grad_q"), 1e-10);
    expect_close(outcome.gradients[1], reference("mask_mod", "grad_k"), 1e-10);
    expect_close(outcome.gradients[2], reference("mask_mod", "grad_v"), 1e-10);
  }
  // The same documents and causal masking, both in one mask_mod.
  expect_every_path_matches("mask_mod", "document_causal_context",
                            AttentionOptions().mask_mod(and_masks(document_mask(ids), causal_mod)));
}

TEST_F(MaskModTest, PrefixLmAndCombinedMasksMatchPyTorchOnEveryPath) {
  const auto ids = reference("mask_mod", "ids", torch::kLong);
  expect_every_path_matches("mask_mod", "prefix_context", AttentionOptions().mask_mod(prefix_lm_mask(3)));
  expect_every_path_matches("mask_mod", "document_prefix_context",
                            AttentionOptions().mask_mod(and_masks(document_mask(ids), prefix_lm_mask(3))));
  const auto first_key = [](const ScoreIndex& index) { return index.key == 0; };
  expect_every_path_matches("mask_mod", "document_or_first_context",
                            AttentionOptions().mask_mod(or_masks(document_mask(ids), first_key)));
  // ids [T]: the same documents for every batch.
  const auto shared = attention::scaled_dot_product_attention(
      reference("mask_mod", "q"), reference("mask_mod", "k"), reference("mask_mod", "v"),
      AttentionOptions().mask_mod(document_mask(ids[0])).causal(true));
  const auto per_batch = attention::scaled_dot_product_attention(
      reference("mask_mod", "q"), reference("mask_mod", "k"), reference("mask_mod", "v"),
      AttentionOptions().mask_mod(document_mask(torch::stack({ids[0], ids[0]}))).causal(true));
  expect_close(shared.context, per_batch.context, 0);
  expect_close(shared.context[0], reference("mask_mod", "document_causal_context")[0], 1e-10);
  EXPECT_THROW_WITH(prefix_lm_mask(-1), "prefix_length");
}

TEST_F(MaskModTest, AMaskModEqualsItsDenseBoolMaskOnEveryPath) {
  const auto q = torch::randn({2, 3, 20, 8}, torch::kDouble), k = torch::randn({2, 3, 23, 8}, torch::kDouble);
  const auto v = torch::randn({2, 3, 23, 5}, torch::kDouble);
  // Depends on every index, and leaves some rows with no key (zeros).
  const auto pattern = [](const torch::Tensor& batch, const torch::Tensor& head, const torch::Tensor& query,
                          const torch::Tensor& key) {
    return ((query * 3 + key * (head + 1) + batch) % 4 == 0).logical_and(query != 5);
  };
  const auto mask_mod = [&](const ScoreIndex& index) {
    return pattern(index.batch, index.head, index.query, index.key);
  };
  const auto dense = pattern(torch::arange(2).view({2, 1, 1, 1}), torch::arange(3).view({1, 3, 1, 1}),
                             torch::arange(20).view({1, 1, 20, 1}), torch::arange(23).view({1, 1, 1, 23}));
  const auto expected = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(dense));
  for (const auto& path : every_path(AttentionOptions().mask_mod(mask_mod))) {
    SCOPED_TRACE(path.name);
    const auto out = attention::scaled_dot_product_attention(q, k, v, path.options);
    expect_close(out.context, expected.context, 1e-12);
    if (out.weights.defined()) {
      expect_close(out.weights, expected.weights, 1e-12);
    }
  }
  // Positions, not tile indices: bottom-right, query row i sits at i + (Tk - Tq).
  const auto bottom_right = AttentionOptions().causal_alignment(CausalAlignment::BottomRight);
  const auto causal =
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions(bottom_right).causal(true)).context;
  for (const auto& path : every_path(AttentionOptions(bottom_right).mask_mod(causal_mod))) {
    SCOPED_TRACE(path.name + ", bottom-right");
    expect_close(attention::scaled_dot_product_attention(q, k, v, path.options).context, causal, 1e-12);
  }
}

TEST_F(MaskModTest, AMaskModThatIsNotBoolOrDoesNotBroadcastIsRefused) {
  const auto q = torch::randn({1, 2, 4, 4}), k = torch::randn({1, 2, 6, 4}), v = torch::randn({1, 2, 6, 3});
  const auto not_bool = [](const ScoreIndex& index) { return (index.key - index.query).to(torch::kFloat); };
  const auto wrong_shape = [](const ScoreIndex&) { return torch::ones({7, 5}, torch::kBool); };
  for (const auto& path : every_path(AttentionOptions())) {
    SCOPED_TRACE(path.name);
    EXPECT_THROW_WITH(
        attention::scaled_dot_product_attention(q, k, v, AttentionOptions(path.options).mask_mod(not_bool)),
        "mask_mod must return");
    EXPECT_THROW_WITH(
        attention::scaled_dot_product_attention(q, k, v, AttentionOptions(path.options).mask_mod(wrong_shape)),
        "mask_mod must return");
  }
  EXPECT_THROW_WITH(create_block_mask(not_bool, 1, 1, 8, 8, 4), "mask_mod must return");
  EXPECT_THROW_WITH(create_block_mask(wrong_shape, 1, 1, 8, 8, 4), "mask_mod must return");
}

class BlockMaskTest : public testing::SeededTest {};

// Three documents of 100, 150 and 50 tokens: [0, 100), [100, 250), [250, 300).
torch::Tensor three_documents() {
  return torch::cat(
      {torch::full({100}, 0, torch::kLong), torch::full({150}, 1, torch::kLong), torch::full({50}, 2, torch::kLong)});
}

TEST_F(BlockMaskTest, BlocksOfADocumentMaskCountedByHand) {
  // Blocks of 64: [0, 64) doc 0 | [64, 128) docs 0, 1 | [128, 192) doc 1 | [192, 256) docs 1, 2 | [256, 300) doc 2.
  const auto mask = create_block_mask(document_mask(three_documents()), 1, 1, 300, 300, 64);
  ASSERT_TRUE(mask.defined());
  EXPECT_EQ(mask.query_len(), 300);
  EXPECT_EQ(mask.key_len(), 300);
  EXPECT_EQ(mask.block_size(), 64);
  EXPECT_EQ(mask.blocks().scalar_type(), torch::kChar);
  EXPECT_EQ(mask.blocks().sizes(), (std::vector<int64_t>{1, 1, 5, 5}));
  constexpr int8_t E = BlockMask::kEmpty, P = BlockMask::kPartial, F = BlockMask::kFull;
  const auto expected = torch::tensor(std::vector<int8_t>{F, P, E, E, E,   // query block 0: doc 0
                                                          P, P, P, P, E,   // 1: docs 0, 1
                                                          E, P, F, P, E,   // 2: doc 1
                                                          E, P, P, P, P,   // 3: docs 1, 2
                                                          E, E, E, P, F},  // 4: doc 2 (44 rows)
                                      torch::kChar)
                            .view({1, 1, 5, 5});
  EXPECT_TRUE(torch::equal(mask.blocks(), expected)) << mask.blocks();
  EXPECT_DOUBLE_EQ(mask.sparsity(), 10.0 / 25.0);

  // With causal masking in the mask_mod, the blocks above the diagonal are empty too, and the diagonal partial.
  const auto causal = create_block_mask(and_masks(document_mask(three_documents()), causal_mod), 1, 1, 300, 300, 64);
  const auto expected_causal = torch::tensor(std::vector<int8_t>{P, E, E, E, E,  //
                                                                 P, P, E, E, E,  //
                                                                 E, P, P, E, E,  //
                                                                 E, P, P, P, E,  //
                                                                 E, E, E, P, P},
                                             torch::kChar)
                                   .view({1, 1, 5, 5});
  EXPECT_TRUE(torch::equal(causal.blocks(), expected_causal)) << causal.blocks();
  EXPECT_DOUBLE_EQ(causal.sparsity(), 15.0 / 25.0);

  // Per batch and head: [B, H, ...] blocks, each row of the mask its own.
  const auto by_head = [](const ScoreIndex& index) { return (index.head == 0).logical_or(index.key < 10); };
  const auto per_head = create_block_mask(by_head, 1, 2, 20, 20, 10);
  EXPECT_EQ(per_head.blocks().sizes(), (std::vector<int64_t>{1, 2, 2, 2}));
  EXPECT_TRUE(torch::equal(per_head.blocks(),
                           torch::tensor(std::vector<int8_t>{F, F, F, F, F, E, F, E}, torch::kChar).view({1, 2, 2, 2})))
      << per_head.blocks();
  EXPECT_DOUBLE_EQ(per_head.sparsity(), 2.0 / 8.0);

  EXPECT_FALSE(BlockMask().defined());
  EXPECT_THROW(create_block_mask(causal_mod, 1, 1, 8, 8, 0), c10::Error);
  EXPECT_THROW(create_block_mask(causal_mod, 0, 1, 8, 8, 4), c10::Error);
}

TEST_F(BlockMaskTest, AttentionThroughABlockMaskEqualsItsMaskModAndDenseMask) {
  const auto ids = three_documents();
  const auto q = torch::randn({1, 2, 300, 8}, torch::kDouble).requires_grad_();
  const auto k = torch::randn({1, 2, 300, 8}, torch::kDouble).requires_grad_();
  const auto v = torch::randn({1, 2, 300, 4}, torch::kDouble).requires_grad_();
  const std::vector<torch::Tensor> inputs{q, k, v};
  const auto run = [&](const AttentionOptions& options) {
    return forward_and_backward(
        [&] {
          return attention::scaled_dot_product_attention(q, k, v, AttentionOptions(options).causal(true)).context;
        },
        inputs);
  };
  const auto materialized = AttentionOptions().path(AttentionPath::Materialized);
  const auto dense = ids.view({300, 1}) == ids.view({1, 300});
  const auto expected = run(AttentionOptions(materialized).mask(dense));
  const auto check = [&](const testing::Outcome& outcome) {
    expect_close(outcome.context, expected.context, 1e-10);
    for (size_t i = 0; i < inputs.size(); ++i) {
      expect_close(outcome.gradients[i], expected.gradients[i], 1e-10);
    }
  };
  {
    SCOPED_TRACE("mask_mod, materialized");
    check(run(AttentionOptions(materialized).mask_mod(document_mask(ids))));
  }
  const auto block_mask = create_block_mask(document_mask(ids), 1, 1, 300, 300, 64);
  // Not every_path: a block mask sets the tiles (block_size 0 or its own).
  for (const auto& [name, options] : std::vector<std::pair<std::string, AttentionOptions>>{
           {"materialized", AttentionOptions(materialized)},
           {"tiled", AttentionOptions().path(AttentionPath::Tiled).need_weights(false)},
           {"tiled, block_size 64", AttentionOptions().path(AttentionPath::Tiled).need_weights(false).block_size(64)},
           {"fused", AttentionOptions().path(AttentionPath::Fused).need_weights(false)}}) {
    SCOPED_TRACE("block_mask, " + name);
    check(run(AttentionOptions(options).block_mask(block_mask)));
  }
  EXPECT_THROW_WITH(
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().block_mask(block_mask).block_size(32)),
      "differs from the block mask's");
}

TEST_F(BlockMaskTest, ABlockMaskOfOtherLengthsOrWithAMaskModIsRefused) {
  const auto q = torch::randn({1, 1, 300, 8}), k = torch::randn({1, 1, 300, 8}), v = torch::randn({1, 1, 300, 4});
  const auto ids = three_documents();
  const auto shorter = create_block_mask(document_mask(ids), 1, 1, 200, 300, 64);
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, v, AttentionOptions().block_mask(shorter)),
                    "block mask was made for");
  const auto fewer_keys = create_block_mask(document_mask(ids), 1, 1, 300, 200, 64);
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, v, AttentionOptions().block_mask(fewer_keys)),
                    "block mask was made for");
  const auto fits = create_block_mask(document_mask(ids), 1, 1, 300, 300, 64);
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(
                        q, k, v, AttentionOptions().block_mask(fits).mask_mod(document_mask(ids))),
                    "not both");
  // Made for 2 batches, used with 3.
  const auto two_batches =
      create_block_mask([](const ScoreIndex& index) { return (index.batch == 0).logical_or(index.key <= index.query); },
                        2, 1, 300, 300, 64);
  EXPECT_THROW(
      attention::scaled_dot_product_attention(torch::randn({3, 1, 300, 8}), torch::randn({3, 1, 300, 8}),
                                              torch::randn({3, 1, 300, 4}), AttentionOptions().block_mask(two_batches)),
      c10::Error);
}

}  // namespace
}  // namespace attention
