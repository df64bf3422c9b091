// multi_head_attention_forward against PyTorch's multi-head attention (tests/data/make_reference.py): self- and
// cross-attention, grouped key/value heads, rotary positions, a key/value cache, gradients and bad weights.
#include <attention/attention.h>

#include "test_support.h"

#include <string>
#include <vector>

namespace attention {
namespace {

using testing::expect_close;
using testing::reference;

class MultiHeadForwardTest : public testing::SeededTest {};

/// The options of a reference case of torch.nn.MultiheadAttention (mha_cross, mha_self_causal): its projections,
/// packed (`in_proj_weight`) or separate (`q_proj_weight`, ...), and `num_heads`.
MultiHeadAttentionForwardOptions pytorch_mha(const std::string& case_name, int64_t num_heads) {
  const auto E = reference(case_name, "out_proj_weight").size(0);
  const auto biases = reference(case_name, "in_proj_bias").split(E);
  const auto weights = case_name == "mha_cross" ? std::vector<torch::Tensor>{reference(case_name, "q_proj_weight"),
                                                                             reference(case_name, "k_proj_weight"),
                                                                             reference(case_name, "v_proj_weight")}
                                                : reference(case_name, "in_proj_weight").split(E);
  return MultiHeadAttentionForwardOptions(num_heads, weights[0], weights[1], weights[2],
                                          reference(case_name, "out_proj_weight"))
      .W_q_bias(biases[0])
      .W_k_bias(biases[1])
      .W_v_bias(biases[2])
      .W_o_bias(reference(case_name, "out_proj_bias"));
}

/// The options of the grouped-query case mha_gqa: 6 query heads, 2 key/value heads, width 12.
MultiHeadAttentionForwardOptions grouped(torch::ScalarType dtype = torch::kDouble) {
  const auto tensor = [&](const char* name) { return reference("mha_gqa", name, dtype); };
  return MultiHeadAttentionForwardOptions(6, tensor("W_q"), tensor("W_k"), tensor("W_v"), tensor("W_o"))
      .num_kv_heads(2)
      .W_q_bias(tensor("b_q"))
      .W_k_bias(tensor("b_k"))
      .W_v_bias(tensor("b_v"))
      .W_o_bias(tensor("b_o"));
}

TEST_F(MultiHeadForwardTest, CrossAttentionMatchesPyTorchsMultiheadAttention) {
  const auto query = reference("mha_cross", "query"), key = reference("mha_cross", "key"),
             value = reference("mha_cross", "value");
  const auto options = pytorch_mha("mha_cross", 2);
  const auto plain = multi_head_attention_forward(query, key, value, options);
  expect_close(plain.context, reference("mha_cross", "output_nomask"), 1e-12);
  expect_close(plain.weights, reference("mha_cross", "weights_nomask"), 1e-12);
  const auto padding = padding_mask(reference("mha_cross", "lengths", torch::kLong), key.size(1));
  const auto padded = multi_head_attention_forward(
      query, key, value, MultiHeadAttentionForwardOptions(options).attention_options(AttentionOptions().mask(padding)));
  expect_close(padded.context, reference("mha_cross", "output"), 1e-12);
  expect_close(padded.weights, reference("mha_cross", "weights"), 1e-12);
}

TEST_F(MultiHeadForwardTest, SelfAttentionMatchesPyTorchsMultiheadAttentionBatchedAndUnbatched) {
  const auto x = reference("mha_self_causal", "x");  // one tensor as query, key and value: one fused projection
  const auto options = pytorch_mha("mha_self_causal", 3).attention_options(AttentionOptions().causal(true));
  const auto out = multi_head_attention_forward(x, x, x, options);
  expect_close(out.context, reference("mha_self_causal", "output"), 1e-12);
  expect_close(out.weights, reference("mha_self_causal", "weights"), 1e-12);
  const auto first = multi_head_attention_forward(x[0], x[0], x[0], options);  // unbatched [T, E]
  expect_close(first.context, reference("mha_self_causal", "output")[0], 1e-12);
  expect_close(first.weights, reference("mha_self_causal", "weights")[0], 1e-12);
}

TEST_F(MultiHeadForwardTest, GroupedHeadsMatchPyTorchWithRepeatedKeyAndValueHeads) {
  const auto x = reference("mha_gqa", "x");
  const auto options = grouped().attention_options(AttentionOptions().causal(true));
  const auto fused = multi_head_attention_forward(x, x, x, options);
  expect_close(fused.context, reference("mha_gqa", "context"), 1e-12);
  expect_close(fused.weights, reference("mha_gqa", "weights"), 1e-12);  // per query head [B, H, T, T]
  // Three distinct tensors take three separate projections, with the same result.
  const auto separate = multi_head_attention_forward(x, x.clone(), x.clone(), options);
  expect_close(separate.context, reference("mha_gqa", "context"), 1e-12);
}

TEST_F(MultiHeadForwardTest, RotaryPositionsMatchPyTorchAndContinueFromTheCache) {
  const auto x = reference("mha_gqa", "x");
  const auto options = grouped().attention_options(AttentionOptions().causal(true)).rope(true);
  expect_close(multi_head_attention_forward(x, x, x, options).context, reference("mha_gqa", "rope_context"), 1e-12);
  // Three tokens, then two more at positions 3 and 4: the last two rows of the whole sequence.
  KVCache cache;
  const auto prompt = x.slice(1, 0, 3), next = x.slice(1, 3, 5);
  multi_head_attention_forward(prompt, prompt, prompt, MultiHeadAttentionForwardOptions(options).kv_cache(&cache));
  const auto step =
      multi_head_attention_forward(next, next, next, MultiHeadAttentionForwardOptions(options).kv_cache(&cache));
  EXPECT_EQ(cache.size(), 5);
  EXPECT_EQ(step.weights.sizes(), (std::vector<int64_t>{2, 6, 2, 5}));  // the new queries over every key
  expect_close(step.context, reference("mha_gqa", "rope_context").slice(1, 3, 5), 1e-12);
}

TEST_F(MultiHeadForwardTest, ModulesAreTheFunctionalOfTheirWeights) {
  SelfAttention self(SelfAttentionOptions(12, 6).num_kv_heads(2).causal(true).rope(true));
  self->to(torch::kDouble);
  {
    torch::NoGradGuard no_grad;
    const auto set = [](torch::nn::Linear& linear, const char* weight, const char* bias) {
      linear->weight.copy_(reference("mha_gqa", weight));
      linear->bias.copy_(reference("mha_gqa", bias));
    };
    set(self->W_q, "W_q", "b_q");
    set(self->W_k, "W_k", "b_k");
    set(self->W_v, "W_v", "b_v");
    set(self->W_o, "W_o", "b_o");
  }
  expect_close(self(reference("mha_gqa", "x")).context, reference("mha_gqa", "rope_context"), 1e-12);
}

TEST_F(MultiHeadForwardTest, GradientsOfInputsWeightsAndBiasesMatchFiniteDifferences) {
  const auto leaf = [](std::vector<int64_t> shape) { return torch::randn(shape, torch::kDouble).requires_grad_(); };
  const auto x = leaf({2, 3, 4}), W_q = leaf({4, 4}), W_k = leaf({2, 4}), W_v = leaf({2, 4}), W_o = leaf({4, 4});
  const auto b_q = leaf({4}), b_o = leaf({4});  // W_k and W_v without bias: zeros in the fused projection
  const auto options = MultiHeadAttentionForwardOptions(2, W_q, W_k, W_v, W_o)
                           .num_kv_heads(1)
                           .W_q_bias(b_q)
                           .W_o_bias(b_o)
                           .attention_options(AttentionOptions().causal(true))
                           .rope(true);
  testing::expect_gradients_match_finite_differences(
      [&] {
        const auto out = multi_head_attention_forward(x, x, x, options);
        return (out.context * testing::weighting_like(out.context)).sum();
      },
      {x, W_q, W_k, W_v, W_o, b_q, b_o});
}

TEST_F(MultiHeadForwardTest, WeightsThatDoNotFitAreRefusedNamingTheShapes) {
  const auto x = reference("mha_gqa", "x");
  const auto options = grouped();
  EXPECT_THROW_WITH(multi_head_attention_forward(x, x, x, MultiHeadAttentionForwardOptions(options).num_kv_heads(4)),
                    "multi_head_attention_forward: num_kv_heads (4) must divide num_heads (6)");
  EXPECT_THROW_WITH(multi_head_attention_forward(x, x, x, MultiHeadAttentionForwardOptions(options).num_kv_heads(3)),
                    "W_k_weight must have num_kv_heads · d = 3 · 2 = 6 rows (d = W_q_weight's rows / num_heads), "
                    "got W_k_weight [4, 12]");
  EXPECT_THROW_WITH(
      multi_head_attention_forward(x, x, x, MultiHeadAttentionForwardOptions(options).num_heads(5).num_kv_heads(1)),
      "W_q_weight's rows must be num_heads (5) heads of a width d > 0, got W_q_weight [12, 12]");
  EXPECT_THROW_WITH(
      multi_head_attention_forward(
          x, x, x, MultiHeadAttentionForwardOptions(options).W_o_weight(torch::randn({12, 6}, torch::kDouble))),
      "W_o_weight must be [E, H·dv] = [12, 12]");
  EXPECT_THROW_WITH(
      multi_head_attention_forward(
          x, x, x, MultiHeadAttentionForwardOptions(options).W_k_bias(torch::randn({12}, torch::kDouble))),
      "W_k_bias must be [4], one value per row of W_k_weight [4, 12], got [12]");
  EXPECT_THROW_WITH(
      multi_head_attention_forward(x, x, x, MultiHeadAttentionForwardOptions(options).W_v_weight(torch::Tensor())),
      "W_v_weight must be a matrix [out, in]");
  EXPECT_THROW_WITH(multi_head_attention_forward(x.slice(-1, 0, 10), x, x, options),
                    "multi_head_attention_forward: query width must be 12, got query [2, 5, 10]");
  EXPECT_THROW_WITH(multi_head_attention_forward(x, x, x, grouped(torch::kFloat)),
                    "W_q_weight is Float on cpu, the query Double on cpu; they must match");
  const auto square = [] { return torch::randn({12, 12}, torch::kDouble); };
  const auto odd_heads = MultiHeadAttentionForwardOptions(4, square(), square(), square(), square()).rope(true);
  EXPECT_THROW_WITH(multi_head_attention_forward(x, x, x, odd_heads),
                    "rope needs an even head width, got 3 (W_q_weight's 12 rows / num_heads 4)");
}

}  // namespace
}  // namespace attention
