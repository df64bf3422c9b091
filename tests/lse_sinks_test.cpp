// The log-sum-exp of each row (return_lse) and attention sinks, against PyTorch-computed numbers and gradients
// (tests/data/make_reference.py) on every path: the -inf row of a fully masked query, two calls over two halves of
// the keys merged by their log-sum-exps, and sinks' weights that sum to less than 1.
#include <attention/attention.h>

#include "test_support.h"

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace attention {
namespace {

using testing::every_path;
using testing::expect_close;
using testing::forward_and_backward;
using testing::reference;
using testing::reference_leaves;
using testing::weighting_like;

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// A reference tensor stored with 0 where it is -inf, and its `<name>_finite` flags: the tensor with its -inf back.
torch::Tensor reference_with_infinities(const std::string& case_name, const std::string& name) {
  const auto finite = reference(case_name, name + "_finite", torch::kBool);
  return reference(case_name, name).masked_fill(finite.logical_not(), kMinusInfinity);
}

// Expects `actual` to be -inf exactly where `expected` is, and close to it elsewhere.
void expect_close_with_infinities(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance) {
  ASSERT_TRUE(actual.defined());
  ASSERT_EQ(actual.sizes(), expected.sizes());
  const auto finite = torch::isfinite(expected);
  EXPECT_TRUE(torch::equal(torch::isfinite(actual), finite)) << "actual:\n" << actual << "\nexpected:\n" << expected;
  EXPECT_TRUE(actual.masked_select(finite.logical_not()).eq(kMinusInfinity).all().item<bool>()) << actual;
  expect_close(actual.masked_fill(finite.logical_not(), 0), expected.masked_fill(finite.logical_not(), 0), tolerance);
}

// Two attention results over disjoint sets of keys, merged into the result over all of them: contexts weighted by
// exp(lse_part - lse), lse = logaddexp(lse_1, lse_2). A part with no key for a row (lse -inf) weighs 0.
std::pair<torch::Tensor, torch::Tensor> merge(const AttentionOutput& first, const AttentionOutput& second) {
  const auto lse = torch::logaddexp(first.lse, second.lse);
  const auto weight = [&](const torch::Tensor& part) {
    return torch::where(torch::isfinite(part), (part - lse).exp(), torch::zeros_like(part)).unsqueeze(-1);
  };
  return {first.context * weight(first.lse) + second.context * weight(second.lse), lse};
}

class LseTest : public testing::SeededTest {};

TEST_F(LseTest, LseAndItsGradientsMatchPyTorchOnEveryPath) {
  const auto inputs = reference_leaves("lse", {"q", "k", "v"});
  const auto mask = reference("lse", "mask", torch::kBool);  // blocks all of row 2
  const auto expected_lse = reference_with_infinities("lse", "lse");
  const auto finite = torch::isfinite(expected_lse);
  for (const auto& path : every_path(AttentionOptions().mask(mask).causal(true).return_lse(true))) {
    SCOPED_TRACE(path.name);
    for (const auto& input : inputs) {
      input.mutable_grad() = torch::Tensor();
    }
    const auto out = attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options);
    ASSERT_TRUE(out.lse.defined());
    EXPECT_EQ(out.lse.scalar_type(), torch::kDouble);
    expect_close(out.context, reference("lse", "context"), 1e-10);
    expect_close_with_infinities(out.lse, expected_lse, 1e-10);
    // The reference's loss: the sin-weighted context plus the sin-weighted lse of the rows that have one.
    const auto finite_lse = out.lse.masked_fill(finite.logical_not(), 0);
    ((out.context * weighting_like(out.context)).sum() + (finite_lse * weighting_like(finite_lse)).sum()).backward();
    expect_close(inputs[0].grad(), reference("lse", "grad_q"), 1e-10);
    expect_close(inputs[1].grad(), reference("lse", "grad_k"), 1e-10);
    expect_close(inputs[2].grad(), reference("lse", "grad_v"), 1e-10);
    // The fully masked row: zero context, -inf lse, and nothing flows back through it (no NaN anywhere).
    EXPECT_TRUE(out.context.select(2, 2).eq(0).all().item<bool>());
    EXPECT_TRUE(out.lse.select(2, 2).eq(kMinusInfinity).all().item<bool>());
    for (const auto& input : inputs) {
      EXPECT_TRUE(torch::isfinite(input.grad()).all().item<bool>());
    }
  }
}

TEST_F(LseTest, TwoHalvesOfTheKeysMergeIntoTheWholeOnEveryPath) {
  const auto q = reference("lse", "q"), k = reference("lse", "k"), v = reference("lse", "v");
  const auto allowed = reference("lse", "allowed", torch::kBool);  // causal top-left AND the mask, [Tq, Tk]
  using torch::indexing::Ellipsis;
  using torch::indexing::Slice;
  const auto first = Slice(0, 4), second = Slice(4, 7);  // keys 0..3 and 4..6
  for (const auto& path : every_path(AttentionOptions().return_lse(true))) {
    SCOPED_TRACE(path.name);
    const auto part = [&](const Slice& keys) {
      return attention::scaled_dot_product_attention(
          q, k.index({Ellipsis, keys, Slice()}), v.index({Ellipsis, keys, Slice()}),
          AttentionOptions(path.options).mask(allowed.index({Slice(), keys})));
    };
    const auto out_1 = part(first), out_2 = part(second);
    expect_close(out_1.context, reference("lse", "context_1"), 1e-10);
    expect_close(out_2.context, reference("lse", "context_2"), 1e-10);
    expect_close_with_infinities(out_1.lse, reference_with_infinities("lse", "lse_1"), 1e-10);
    expect_close_with_infinities(out_2.lse, reference_with_infinities("lse", "lse_2"), 1e-10);  // rows 0..3: -inf

    const auto [context, lse] = merge(out_1, out_2);
    expect_close(context, reference("lse", "context"), 1e-10);
    expect_close_with_infinities(lse, reference_with_infinities("lse", "lse"), 1e-10);
    const auto whole = attention::scaled_dot_product_attention(q, k, v, AttentionOptions(path.options).mask(allowed));
    expect_close(context, whole.context, 1e-12);
    expect_close_with_infinities(lse, whole.lse, 1e-12);
  }
}

TEST_F(LseTest, LseIsOnlyReturnedWhenAskedAndFollowsTheInputsDtype) {
  const auto q = torch::randn({2, 5, 4}), k = torch::randn({2, 6, 4}), v = torch::randn({2, 6, 3});
  EXPECT_FALSE(attention::scaled_dot_product_attention(q, k, v).lse.defined());
  for (const auto& path : every_path(AttentionOptions().return_lse(true))) {
    SCOPED_TRACE(path.name);
    const auto out = attention::scaled_dot_product_attention(q, k, v, path.options);
    EXPECT_EQ(out.lse.sizes(), (std::vector<int64_t>{2, 5}));  // [..., Tq]
    EXPECT_EQ(out.lse.scalar_type(), torch::kFloat);
    // Without masks: the log-sum-exp of the scaled scores.
    expect_close(out.lse, torch::logsumexp(torch::matmul(q, k.transpose(-2, -1)) / 2, -1), 1e-5);
  }
}

class SinksTest : public testing::SeededTest {};

AttentionOptions sinks_case_options(const torch::Tensor& sinks) {
  return AttentionOptions().enable_gqa(true).causal(true).causal_alignment(CausalAlignment::BottomRight).sinks(sinks);
}

TEST_F(SinksTest, SinksAndTheirGradientsMatchPyTorchOnEveryPath) {
  const auto inputs = reference_leaves("sinks", {"q", "k", "v", "sinks"});
  for (const auto& path : every_path(sinks_case_options(inputs[3]))) {
    SCOPED_TRACE(path.name);
    const auto outcome = forward_and_backward(
        [&] { return attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options).context; },
        inputs);
    expect_close(outcome.context, reference("sinks", "context"), 1e-10);
    expect_close(outcome.gradients[0], reference("sinks", "grad_q"), 1e-10);
    expect_close(outcome.gradients[1], reference("sinks", "grad_k"), 1e-10);
    expect_close(outcome.gradients[2], reference("sinks", "grad_v"), 1e-10);
    expect_close(outcome.gradients[3], reference("sinks", "grad_sinks"), 1e-10);
    // The lse leaves the sinks out.
    torch::NoGradGuard no_grad;
    const auto out = attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2],
                                                             AttentionOptions(path.options).return_lse(true));
    expect_close(out.lse, reference("sinks", "lse"), 1e-10);
  }
}

TEST_F(SinksTest, MaterializedWeightsSumToLessThanOneByTheSinksShare) {
  const auto q = reference("sinks", "q"), k = reference("sinks", "k"), v = reference("sinks", "v");
  const auto sinks = reference("sinks", "sinks");
  const auto out = attention::scaled_dot_product_attention(
      q, k, v, AttentionOptions(sinks_case_options(sinks)).path(AttentionPath::Materialized));
  expect_close(out.weights, reference("sinks", "weights"), 1e-12);
  const auto sums = out.weights.sum(-1);  // [1, H, Tq]
  EXPECT_TRUE(sums.lt(1).all().item<bool>()) << sums;
  // Σ_j exp(x_ij) / (Σ_j exp(x_ij) + exp(s_h)) = sigmoid(lse_i - s_h).
  expect_close(sums, torch::sigmoid(reference("sinks", "lse") - sinks.view({1, 4, 1})), 1e-12);
}

TEST_F(SinksTest, AFullyMaskedRowStillGivesZerosAndNoGradient) {
  const auto q = torch::randn({2, 3, 4, 4}, torch::kDouble).requires_grad_();
  const auto k = torch::randn({2, 3, 5, 4}, torch::kDouble).requires_grad_();
  const auto v = torch::randn({2, 3, 5, 2}, torch::kDouble).requires_grad_();
  const auto sinks = torch::randn({3}, torch::kDouble).requires_grad_();
  auto mask = torch::ones({4, 5}, torch::kBool);
  mask[1] = false;
  for (const auto& path : every_path(AttentionOptions().mask(mask).sinks(sinks))) {
    SCOPED_TRACE(path.name);
    const auto outcome = forward_and_backward(
        [&] { return attention::scaled_dot_product_attention(q, k, v, path.options).context; }, {q, k, v, sinks});
    EXPECT_TRUE(outcome.context.select(2, 1).eq(0).all().item<bool>()) << outcome.context;
    EXPECT_TRUE(outcome.gradients[0].select(2, 1).eq(0).all().item<bool>());  // the masked queries' gradient
    for (const auto& gradient : outcome.gradients) {
      EXPECT_TRUE(torch::isfinite(gradient).all().item<bool>());
    }
    // The other rows: a softmax over the keys and the sink, the sink's share dropped.
    const auto scores = torch::matmul(q, k.transpose(-2, -1)).detach() / 2;  // [B, H, Tq, Tk]
    const auto logits = torch::cat({scores, sinks.detach().view({1, 3, 1, 1}).expand({2, 3, 4, 1})}, -1);
    const auto weights = torch::softmax(logits, -1).narrow(-1, 0, 5);
    const auto expected = torch::matmul(weights, v.detach());
    for (const int64_t row : {0, 2, 3}) {
      expect_close(outcome.context.select(2, row), expected.select(2, row), 1e-12);
    }
  }
}

TEST_F(SinksTest, VeryNegativeSinksChangeNothing) {
  const auto q = torch::randn({2, 2, 6, 4}, torch::kDouble), k = torch::randn({2, 2, 6, 4}, torch::kDouble);
  const auto v = torch::randn({2, 2, 6, 3}, torch::kDouble);
  const auto expected = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().causal(true)).context;
  for (const auto& path : every_path(AttentionOptions().causal(true).sinks(torch::full({2}, -1e4, torch::kDouble)))) {
    SCOPED_TRACE(path.name);
    expect_close(attention::scaled_dot_product_attention(q, k, v, path.options).context, expected, 1e-12);
  }
}

}  // namespace
}  // namespace attention
