// The functional API against hand-computed and PyTorch-computed numbers.
#include <attention/functional.h>

#include "test_support.h"

#include <limits>

namespace attention {
namespace {

using testing::expect_close;
using testing::reference;

class FunctionalTest : public testing::SeededTest {};

/// "Your journey starts with one step": the tutorial's 3-d embeddings, one row per word.
torch::Tensor tutorial_inputs() { return reference("tutorial", "inputs", torch::kFloat); }

// ------------------------------------------------------------------------------------------------- softmax

TEST_F(FunctionalTest, StableSoftmaxMatchesPyTorchOnLargeScores) {
  const auto x = reference("softmax_large", "x", torch::kFloat);
  const auto weights = softmax_stable(x);
  EXPECT_TRUE(torch::isfinite(weights).all().item<bool>());
  expect_close(weights, reference("softmax_large", "softmax"), 1e-6);
}

TEST_F(FunctionalTest, NaiveSoftmaxOverflowsWhereStableDoesNot) {
  const auto x = torch::tensor({1e4, -1e4, 0.0}, torch::kFloat);
  EXPECT_TRUE(softmax_naive(x).isnan().any().item<bool>());  // exp(1e4) = inf, inf / inf = NaN
  expect_close(softmax_stable(x), torch::tensor({1.0, 0.0, 0.0}), 0);
}

TEST_F(FunctionalTest, SoftmaxesAgreeOnModerateScoresAlongAnyDim) {
  const auto x = torch::randn({3, 4, 5}, torch::kDouble);
  for (int64_t dim : {0, 1, -1}) {
    expect_close(softmax_stable(x, dim), torch::softmax(x, dim), 1e-12);
    expect_close(softmax_naive(x, dim), torch::softmax(x, dim), 1e-12);
  }
}

TEST_F(FunctionalTest, StableSoftmaxOfAllNegativeInfinityIsZeroWithFiniteGradient) {
  const auto inf = std::numeric_limits<double>::infinity();
  auto x = torch::tensor({{-inf, -inf, -inf}, {0.0, -inf, 1.0}}, torch::kDouble).requires_grad_();
  const auto weights = softmax_stable(x);
  expect_close(weights[0], torch::zeros({3}), 0);
  expect_close(weights[1],
               torch::tensor({1 / (1 + std::exp(1.0)), 0.0, std::exp(1.0) / (1 + std::exp(1.0))}, torch::kDouble),
               1e-12);
  (weights * testing::weighting_like(weights)).sum().backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  expect_close(x.grad()[0], torch::zeros({3}), 0);
}

TEST_F(FunctionalTest, SoftmaxGradientsMatchFiniteDifferences) {
  const auto x = torch::randn({2, 5}, torch::kDouble).requires_grad_();
  const auto w = testing::weighting_like(x);
  testing::expect_gradients_match_finite_differences([&] { return (softmax_stable(x) * w).sum(); }, {x});
  testing::expect_gradients_match_finite_differences([&] { return (softmax_naive(x) * w).sum(); }, {x});
}

// ------------------------------------------------------------------------------------------- the tutorial

TEST_F(FunctionalTest, SimpleAttentionReproducesTheTutorialNumbers) {
  const auto out = simple_attention(tutorial_inputs());
  // Hand-computed in the tutorial for the query "journey" (row 1).
  const auto journey_scores = torch::matmul(tutorial_inputs(), tutorial_inputs()[1]);
  expect_close(journey_scores, torch::tensor({0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865}), 1e-4);
  expect_close(out.context[1], torch::tensor({0.4419, 0.6515, 0.5683}), 1e-4);
  // And every row against PyTorch.
  expect_close(out.weights, reference("tutorial", "weights"), 1e-6);
  expect_close(out.context, reference("tutorial", "context"), 1e-6);
}

TEST_F(FunctionalTest, SimpleAttentionWithSeparateQueryAndBatch) {
  const auto inputs = tutorial_inputs();
  const auto out = simple_attention(inputs[1].unsqueeze(0), inputs);  // one query over six inputs
  expect_close(out.context, reference("tutorial", "context")[1].unsqueeze(0), 1e-6);
  const auto batched = simple_attention(inputs.unsqueeze(0));
  expect_close(batched.context.squeeze(0), reference("tutorial", "context"), 1e-6);
  EXPECT_THROW_WITH(simple_attention(torch::randn({2, 4}), inputs), "query width must be 3");
}

// ---------------------------------------------------------------------------------------------------- masks

TEST_F(FunctionalTest, CausalMaskAlignments) {
  EXPECT_TRUE(torch::equal(causal_mask(2, 5), reference("causal_rect", "top_left", torch::kBool)));
  EXPECT_TRUE(torch::equal(causal_mask(2, 5, torch::kCPU, CausalAlignment::BottomRight),
                           reference("causal_rect", "bottom_right", torch::kBool)));
  EXPECT_TRUE(
      torch::equal(causal_mask(3, 3), torch::tensor({{true, false, false}, {true, true, false}, {true, true, true}})));
  EXPECT_THROW_WITH(causal_mask(-1, 3), "lengths must be >= 0");
}

TEST_F(FunctionalTest, LocalMaskKeepsKeysWithinTheWindow) {
  const auto mask = local_mask(4, 4, 1);
  EXPECT_TRUE(torch::equal(mask, torch::tensor({{true, true, false, false},
                                                {true, true, true, false},
                                                {false, true, true, true},
                                                {false, false, true, true}})));
  EXPECT_TRUE(local_mask(3, 5, 0).sum().item<int64_t>() == 3);  // the diagonal only
  EXPECT_THROW_WITH(local_mask(3, 3, -1), "window must be >= 0");
}

TEST_F(FunctionalTest, PaddingMaskMarksRealKeys) {
  const auto mask = padding_mask(torch::tensor({3, 1, 0}), 3);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{3, 1, 1, 3}));
  EXPECT_TRUE(torch::equal(mask.view({3, 3}),
                           torch::tensor({{true, true, true}, {true, false, false}, {false, false, false}})));
  EXPECT_THROW_WITH(padding_mask(torch::tensor({4}), 3), "lengths must lie in [0, key_len=3]");
  EXPECT_THROW_WITH(padding_mask(torch::tensor({1.5}), 3), "lengths must be integers");
  EXPECT_THROW_WITH(padding_mask(torch::tensor({{1}}), 3), "1-d tensor");
}

// ----------------------------------------------------------------------------------- scaled dot product

TEST_F(FunctionalTest, ValuesAndGradientsMatchPyTorchWithAFullyMaskedRow) {
  const auto q = reference("grad_sdpa", "q").requires_grad_();
  const auto k = reference("grad_sdpa", "k").requires_grad_();
  const auto v = reference("grad_sdpa", "v").requires_grad_();
  const auto mask = reference("grad_sdpa", "mask", torch::kBool);  // row 1 has no allowed key
  const auto out = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(mask));
  expect_close(out.context, reference("grad_sdpa", "context"), 1e-12);
  expect_close(out.weights.select(1, 1), torch::zeros({2, 5}), 0);
  expect_close(out.context.select(1, 1), torch::zeros({2, 2}), 0);
  const auto loss = (out.context * testing::weighting_like(out.context)).sum();
  expect_close(loss.view({1}), reference("grad_sdpa", "loss"), 1e-12);
  loss.backward();
  expect_close(q.grad(), reference("grad_sdpa", "grad_q"), 1e-12);
  expect_close(k.grad(), reference("grad_sdpa", "grad_k"), 1e-12);
  expect_close(v.grad(), reference("grad_sdpa", "grad_v"), 1e-12);
}

TEST_F(FunctionalTest, GradientsMatchFiniteDifferencesOnEveryMaskKind) {
  const auto q = torch::randn({2, 3, 4}, torch::kDouble).requires_grad_();
  const auto k = torch::randn({2, 5, 4}, torch::kDouble).requires_grad_();
  const auto v = torch::randn({2, 5, 3}, torch::kDouble).requires_grad_();
  const auto additive = torch::randn({3, 5}, torch::kDouble);
  for (const auto& options : {AttentionOptions(), AttentionOptions().causal(true),
                              AttentionOptions().mask(local_mask(3, 5, 1)), AttentionOptions().mask(additive)}) {
    testing::expect_gradients_match_finite_differences(
        [&] {
          const auto out = attention::scaled_dot_product_attention(q, k, v, options);
          return (out.context * testing::weighting_like(out.context)).sum() +
                 (out.weights * testing::weighting_like(out.weights)).sum();
        },
        {q, k, v});
  }
}

TEST_F(FunctionalTest, BoolMaskEqualsItsAdditiveFloatMask) {
  const auto q = torch::randn({2, 4, 8}), k = torch::randn({2, 6, 8}), v = torch::randn({2, 6, 3});
  const auto allowed = torch::rand({2, 4, 6}) > 0.4;
  const auto additive = torch::zeros({2, 4, 6}).masked_fill(allowed.logical_not(), -INFINITY);
  const auto with_bool = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(allowed));
  const auto with_float = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(additive));
  expect_close(with_bool.context, with_float.context, 1e-6);
  expect_close(with_bool.weights, with_float.weights, 1e-6);
  EXPECT_TRUE(with_bool.weights.masked_select(allowed.logical_not()).eq(0).all().item<bool>());
  const auto inverted =
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(allowed.logical_not()));
  EXPECT_FALSE(torch::allclose(inverted.context, with_bool.context));
}

TEST_F(FunctionalTest, CausalRowsSeeNoFuture) {
  const auto q = torch::randn({1, 5, 4}), k = torch::randn({1, 5, 4}), v = torch::randn({1, 5, 4});
  const auto options = AttentionOptions().causal(true);
  const auto before = attention::scaled_dot_product_attention(q, k, v, options);
  EXPECT_TRUE(before.weights.triu(1).eq(0).all().item<bool>());
  // Changing keys and values after position 2 leaves rows 0..2 unchanged.
  auto k2 = k.clone(), v2 = v.clone();
  k2.slice(1, 3) += 10;
  v2.slice(1, 3) -= 10;
  const auto after = attention::scaled_dot_product_attention(q, k2, v2, options);
  EXPECT_TRUE(torch::equal(after.context.slice(1, 0, 3), before.context.slice(1, 0, 3)));
  EXPECT_FALSE(torch::allclose(after.context.slice(1, 3), before.context.slice(1, 3)));
}

TEST_F(FunctionalTest, CausalAndMaskCombineWithLogicalAnd) {
  const auto q = torch::randn({4, 2}), k = torch::randn({4, 2}), v = torch::randn({4, 2});
  const auto local = local_mask(4, 4, 1);
  const auto both = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().causal(true).mask(local));
  const auto explicit_and =
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(causal_mask(4, 4) & local));
  EXPECT_TRUE(torch::equal(both.weights, explicit_and.weights));
  EXPECT_EQ(both.weights.gt(0).sum().item<int64_t>(), 7);  // the diagonal and the one below it
}

TEST_F(FunctionalTest, MaskedKeysHaveNoInfluenceWhateverTheirValues) {
  const auto q = torch::randn({3, 4}), k = torch::randn({5, 4}), v = torch::randn({5, 2});
  const auto mask = torch::tensor({true, true, true, false, false});
  const auto reference_out = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(mask));
  for (double extreme : {1e10, -1e10}) {
    auto k2 = k.clone(), v2 = v.clone();
    k2.slice(0, 3).fill_(extreme);
    v2.slice(0, 3).fill_(extreme / 1e6);
    const auto out = attention::scaled_dot_product_attention(q, k2, v2, AttentionOptions().mask(mask));
    EXPECT_TRUE(torch::equal(out.context, reference_out.context)) << "masked keys set to " << extreme;
  }
}

TEST_F(FunctionalTest, LargeScoresStayFinite) {
  const auto q = torch::full({2, 3}, 100.0), k = torch::randn({4, 3}) * 100, v = torch::randn({4, 2});
  const auto out = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().scale(1.0));  // scores ~ 1e4
  EXPECT_TRUE(torch::isfinite(out.weights).all().item<bool>());
  expect_close(out.weights.sum(-1), torch::ones({2}), 1e-6);
}

TEST_F(FunctionalTest, CustomScaleAndNoWeights) {
  const auto q = torch::randn({2, 3, 4}, torch::kDouble), k = torch::randn({2, 5, 4}, torch::kDouble);
  const auto v = torch::randn({2, 5, 6}, torch::kDouble);
  const auto out = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().scale(0.3));
  const auto expected_weights = torch::softmax(torch::matmul(q, k.transpose(1, 2)) * 0.3, -1);
  expect_close(out.weights, expected_weights, 1e-12);
  expect_close(out.context, torch::matmul(expected_weights, v), 1e-12);
  const auto fast = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().scale(0.3).need_weights(false));
  EXPECT_FALSE(fast.weights.defined());
  expect_close(fast.context, out.context, 1e-12);  // another path (fused on LibTorch 2.x), the same numbers
  const auto default_scale = attention::scaled_dot_product_attention(q, k, v);
  expect_close(default_scale.weights, torch::softmax(torch::matmul(q, k.transpose(1, 2)) / 2.0, -1), 1e-12);
}

TEST_F(FunctionalTest, EmptySequences) {
  const auto q = torch::randn({2, 3, 4});
  const auto no_keys = attention::scaled_dot_product_attention(q, torch::randn({2, 0, 4}), torch::randn({2, 0, 5}));
  expect_close(no_keys.context, torch::zeros({2, 3, 5}), 0);  // nothing to attend: zero context, as masked
  ASSERT_EQ(no_keys.weights.sizes(), (std::vector<int64_t>{2, 3, 0}));
  const auto no_queries = attention::scaled_dot_product_attention(
      torch::randn({2, 0, 4}), torch::randn({2, 6, 4}), torch::randn({2, 6, 5}), AttentionOptions().causal(true));
  ASSERT_EQ(no_queries.context.sizes(), (std::vector<int64_t>{2, 0, 5}));
}

TEST_F(FunctionalTest, DropoutOnlyInTraining) {
  const auto q = torch::randn({4, 8, 16}), k = torch::randn({4, 8, 16}), v = torch::randn({4, 8, 16});
  const auto eval = AttentionOptions().dropout(0.5);
  EXPECT_TRUE(torch::equal(attention::scaled_dot_product_attention(q, k, v, eval).context,
                           attention::scaled_dot_product_attention(q, k, v).context));
  const auto train = AttentionOptions().dropout(0.5).training(true);
  torch::manual_seed(7);
  const auto first = attention::scaled_dot_product_attention(q, k, v, train);
  torch::manual_seed(7);
  const auto second = attention::scaled_dot_product_attention(q, k, v, train);
  EXPECT_TRUE(torch::equal(first.context, second.context));  // seeded: reproducible
  EXPECT_FALSE(torch::allclose(first.context, attention::scaled_dot_product_attention(q, k, v).context));
  // Returned weights are taken before dropout: they are still a distribution.
  expect_close(first.weights.sum(-1), torch::ones({4, 8}), 1e-6);
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, v, AttentionOptions().dropout(1.0)),
                    "dropout must be in [0, 1)");
}

TEST_F(FunctionalTest, OneThreadEqualsTwo) {
  const auto q = torch::randn({4, 64, 32}), k = torch::randn({4, 64, 32}), v = torch::randn({4, 64, 32});
  const auto threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto one = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().causal(true));
  torch::set_num_threads(2);
  const auto two = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().causal(true));
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.context, two.context));
  EXPECT_TRUE(torch::equal(one.weights, two.weights));
}

TEST_F(FunctionalTest, BadInputNamesTheProblem) {
  const auto q = torch::randn({2, 3, 4}), k = torch::randn({2, 5, 4}), v = torch::randn({2, 5, 6});
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, torch::randn({2, 5, 3}), v),
                    "query width (4) must equal key width (3)");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, torch::randn({2, 4, 6})), "same length");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, torch::randn({3, 5, 4}), v),
                    "equal leading (batch, head)");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k[0], v), "same rank");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q.to(torch::kLong), k, v),
                    "must be floating point, got Long");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k.to(torch::kDouble), v), "share a dtype");
  EXPECT_THROW_WITH(
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(torch::ones({3, 4}, torch::kBool))),
      "does not broadcast to the scores [2, 3, 5]");
  EXPECT_THROW_WITH(
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(torch::ones({3, 5}, torch::kInt))),
      "mask must be bool (true = may attend)");
  EXPECT_THROW_WITH(
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions().mask(causal_mask(3, 5).to(torch::kFloat))),
      "multiplicative mask");
}

// ---------------------------------------------------------------------------------------------------- linear

TEST_F(FunctionalTest, LinearOfOneRowIsHandComputedAndOfSeveralIsTorchLinear) {
  // [[1, 2], [3, 4], [5, 6]] · (1, -1) + (0.5, 0, -0.5) = (-0.5, -1, -1.5)
  const auto weight = torch::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}).view({3, 2});
  const auto bias = torch::tensor({0.5, 0.0, -0.5});
  for (const auto dtype : {torch::kFloat, torch::kDouble}) {
    const auto w = weight.to(dtype), b = bias.to(dtype);
    const auto row = torch::tensor({1.0, -1.0}, dtype);
    for (const auto& shape : std::vector<std::vector<int64_t>>{{2}, {1, 2}, {1, 1, 2}}) {
      const auto y = attention::linear(row.view(shape), w, b);
      auto expected_shape = shape;
      expected_shape.back() = 3;
      EXPECT_EQ(y.sizes().vec(), expected_shape);
      EXPECT_EQ(y.scalar_type(), dtype);
      expect_close(y.reshape({-1}), torch::tensor({-0.5, -1.0, -1.5}, dtype), 0);
      expect_close(attention::linear(row.view(shape), w).reshape({-1}), torch::tensor({-1.0, -1.0, -1.0}, dtype), 0);
    }
  }
  // One row of GPT-2's widths against LibTorch's linear, and several rows, which are LibTorch's linear.
  const auto w = torch::randn({2304, 768}), b = torch::randn({2304});
  const auto x = torch::randn({1, 1, 768});
  expect_close(attention::linear(x, w, b), torch::linear(x, w, b), 1e-4);
  const auto rows = torch::randn({3, 768});
  EXPECT_TRUE(torch::equal(attention::linear(rows, w, b), torch::linear(rows, w, b)));
  // The gradient of one row: d(sum of y)/dx = the sum of the weight's rows.
  const auto leaf = x.clone().requires_grad_(true);
  attention::linear(leaf, w, b).sum().backward();
  expect_close(leaf.grad().reshape({-1}), w.sum(0), 1e-4);
}

}  // namespace
}  // namespace attention
