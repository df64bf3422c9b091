// score_mod (FlexAttention's score modification): softcapping and a learnable bias against PyTorch-computed
// numbers and gradients (tests/data/make_reference.py) on every path, positions, and its order with the masks.
#include <attention/attention.h>

#include "test_support.h"

namespace attention {
namespace {

using testing::every_path;
using testing::expect_close;
using testing::expect_every_path_matches;
using testing::forward_and_backward;
using testing::reference;
using testing::reference_leaves;

class ScoreModTest : public testing::SeededTest {};

TEST_F(ScoreModTest, SoftcapMatchesPyTorchOnEveryPath) {
  expect_every_path_matches("score_mod", "softcap_context", AttentionOptions().score_mod(softcap(5)).causal(true));
  EXPECT_THROW_WITH(softcap(0), "cap must be > 0");
}

TEST_F(ScoreModTest, LearnableRelativeBiasGetsPyTorchsGradientsOnEveryPath) {
  const auto inputs = reference_leaves("score_mod", {"q", "k", "v", "bias"});
  const auto& bias = inputs[3];  // [H, 2T - 1]
  const auto relative_bias = [&](const torch::Tensor& scores, const ScoreIndex& index) {
    return scores + bias.index({index.head, index.query - index.key + 5});
  };
  for (const auto& path : every_path(AttentionOptions().score_mod(relative_bias).causal(true))) {
    SCOPED_TRACE(path.name);
    const auto outcome = forward_and_backward(
        [&] { return attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options).context; },
        inputs);
    expect_close(outcome.context, reference("score_mod", "bias_context"), 1e-10);
    expect_close(outcome.gradients[0], reference("score_mod", "grad_q"), 1e-10);
    expect_close(outcome.gradients[1], reference("score_mod", "grad_k"), 1e-10);
    expect_close(outcome.gradients[2], reference("score_mod", "grad_v"), 1e-10);
    expect_close(outcome.gradients[3], reference("score_mod", "grad_bias"), 1e-10);
  }
}

TEST_F(ScoreModTest, ScoreModSeesPositionsAndHeadsAndRunsBeforeTheMasks) {
  // Positions, not tile indices: bottom-right, query row i sits at i + (Tk - Tq).
  const auto q = torch::zeros({2, 3, 2, 4}), k = torch::zeros({2, 3, 5, 4}), v = torch::randn({2, 3, 5, 1});
  const auto record = [](const torch::Tensor& scores, const ScoreIndex& index) {
    // Uniform scores: put 1 where the key is the query's own position, in head 1 of batch 1.
    const auto own = (index.query == index.key).logical_and(index.head == 1).logical_and(index.batch == 1);
    return scores + own.to(scores.scalar_type()) * 100;
  };
  for (const auto& path :
       every_path(AttentionOptions().score_mod(record).causal(true).causal_alignment(CausalAlignment::BottomRight))) {
    SCOPED_TRACE(path.name);
    const auto context = attention::scaled_dot_product_attention(q, k, v, path.options).context;  // [2, 3, 2, 1]
    expect_close(context[1][1].squeeze(-1), v[1][1].slice(0, 3, 5).squeeze(-1), 1e-6);  // rows at positions 3, 4
    expect_close(context[0][1][0], v[0][1].slice(0, 0, 4).mean(0), 1e-6);  // row 0 sees keys 0..3 uniformly
  }
  // A score_mod that would unblock masked keys can't: the causal mask is applied after it.
  const auto unblock = [](const torch::Tensor& scores, const ScoreIndex&) { return torch::zeros_like(scores); };
  const auto sq = torch::randn({4, 2}), sv = torch::randn({4, 3});
  const auto out =
      attention::scaled_dot_product_attention(sq, sq, sv, AttentionOptions().score_mod(unblock).causal(true));
  expect_close(out.weights[0], torch::tensor({1.0, 0.0, 0.0, 0.0}), 0);
  const auto wrong_shape = [](const torch::Tensor& scores, const ScoreIndex&) { return scores.sum(-1); };
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(sq, sq, sv, AttentionOptions().score_mod(wrong_shape)),
                    "score_mod must return scores of the shape it was given");
}

}  // namespace
}  // namespace attention
