// Grouped-query attention, sliding windows, ALiBi, score_mod, rotary embeddings and the key/value cache, against
// PyTorch-computed numbers (tests/data/make_reference.py), on every path.
#include <attention/attention.h>

#include "test_support.h"

#include <string>
#include <vector>

namespace attention {
namespace {

using testing::expect_close;
using testing::reference;

class ModernFeaturesTest : public testing::SeededTest {};

/// A forced path, named for messages.
struct NamedPath {
  std::string name;
  AttentionOptions options;
};

/// `options` on each path: materialised (with weights), tiled with tiles of 1, 3 and the default size, and fused
/// (which falls back to tiled where LibTorch's kernel can't express the case).
std::vector<NamedPath> every_path(const AttentionOptions& options) {
  const auto no_weights = AttentionOptions(options).need_weights(false);
  return {{"materialized", AttentionOptions(options).path(AttentionPath::Materialized)},
          {"tiled, tiles of 1", AttentionOptions(no_weights).path(AttentionPath::Tiled).block_size(1)},
          {"tiled, tiles of 3", AttentionOptions(no_weights).path(AttentionPath::Tiled).block_size(3)},
          {"tiled", AttentionOptions(no_weights).path(AttentionPath::Tiled)},
          {"fused", AttentionOptions(no_weights).path(AttentionPath::Fused)}};
}

/// The context and the gradients of sum(context · sin(index)) (the reference's loss) with respect to `inputs`.
struct Outcome {
  torch::Tensor context;
  std::vector<torch::Tensor> gradients;
};
Outcome run(const std::function<torch::Tensor()>& forward, const std::vector<torch::Tensor>& inputs) {
  for (const auto& input : inputs) {
    input.mutable_grad() = torch::Tensor();
  }
  const auto context = forward();
  (context * testing::weighting_like(context)).sum().backward();
  std::vector<torch::Tensor> gradients;
  for (const auto& input : inputs) {
    gradients.push_back(input.grad().clone());
  }
  return {context.detach(), gradients};
}

/// Leaf copies of reference tensors `names` of `case_name`, requiring grad.
std::vector<torch::Tensor> leaves(const std::string& case_name, const std::vector<std::string>& names) {
  std::vector<torch::Tensor> tensors;
  for (const auto& name : names) {
    tensors.push_back(reference(case_name, name).requires_grad_());
  }
  return tensors;
}

/// Expects the context and the gradients of q, k, v on every path to match the reference case.
void expect_every_path_matches(const std::string& case_name, const std::string& context_name,
                               const AttentionOptions& options, double tolerance = 1e-10) {
  const auto inputs = leaves(case_name, {"q", "k", "v"});
  for (const auto& path : every_path(options)) {
    SCOPED_TRACE(case_name + ", " + path.name);
    const auto outcome = run(
        [&] { return attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options).context; },
        inputs);
    expect_close(outcome.context, reference(case_name, context_name), tolerance);
    if (context_name == "context" || context_name == "causal_context") {
      expect_close(outcome.gradients[0], reference(case_name, "grad_q"), tolerance);
      expect_close(outcome.gradients[1], reference(case_name, "grad_k"), tolerance);
      expect_close(outcome.gradients[2], reference(case_name, "grad_v"), tolerance);
    }
  }
}

// ------------------------------------------------------------------------------------- grouped-query attention

TEST_F(ModernFeaturesTest, GroupedQueryAttentionMatchesPyTorchOnEveryPath) {
  const auto padding = reference("gqa", "padding", torch::kBool);
  const auto options =
      AttentionOptions().enable_gqa(true).mask(padding).causal(true).causal_alignment(CausalAlignment::BottomRight);
  expect_every_path_matches("gqa", "context", options);
  const auto [q, k, v] = std::tuple{reference("gqa", "q"), reference("gqa", "k"), reference("gqa", "v")};
  const auto out = attention::scaled_dot_product_attention(q, k, v, options);
  expect_close(out.weights, reference("gqa", "weights"), 1e-12);  // per query head [B, H, Tq, Tk]
}

TEST_F(ModernFeaturesTest, GroupedQueryAttentionWithoutMasksTakesEveryPath) {
  const auto q = torch::randn({2, 6, 9, 4}, torch::kDouble), k = torch::randn({2, 3, 9, 4}, torch::kDouble);
  const auto v = torch::randn({2, 3, 9, 5}, torch::kDouble);
  const auto expected = attention::scaled_dot_product_attention(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1),
                                                                AttentionOptions());
  for (const auto& path : every_path(AttentionOptions().enable_gqa(true))) {
    expect_close(attention::scaled_dot_product_attention(q, k, v, path.options).context, expected.context, 1e-12);
  }
}

TEST_F(ModernFeaturesTest, GroupedQueryAttentionIsRefusedWithoutEnableGqaOrWithAnIndivisibleCount) {
  const auto q = torch::randn({1, 6, 3, 4}), k = torch::randn({1, 4, 3, 4});
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, torch::randn({1, 2, 3, 4}), torch::randn({1, 2, 3, 4})),
                    "fewer key/value heads need enable_gqa(true)");
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, k, AttentionOptions().enable_gqa(true)),
                    "divides the query's");
  EXPECT_THROW_WITH(MultiHeadAttention(MultiHeadAttentionOptions(12, 6).num_kv_heads(4)),
                    "num_kv_heads (4) must divide num_heads (6)");
  EXPECT_THROW_WITH(SelfAttention(SelfAttentionOptions(12, 6).num_kv_heads(0)), "num_kv_heads must be > 0");
}

TEST_F(ModernFeaturesTest, GroupedModulesProjectKeysAndValuesToFewerHeads) {
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

// --------------------------------------------------------------------------------------------- sliding windows

TEST_F(ModernFeaturesTest, SlidingWindowsMatchPyTorchOnEveryPath) {
  const auto bottom_right = AttentionOptions().window(2).causal_alignment(CausalAlignment::BottomRight);
  expect_every_path_matches("window", "local_context", bottom_right);
  expect_every_path_matches("window", "causal_context", AttentionOptions(bottom_right).causal(true));
}

TEST_F(ModernFeaturesTest, AWindowEqualsItsLocalMask) {
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

// ------------------------------------------------------------------------------------------------------- ALiBi

TEST_F(ModernFeaturesTest, AlibiSlopesFollowThePaperForEveryHeadCount) {
  expect_close(alibi_slopes(6), reference("alibi", "slopes_6", torch::kFloat), 1e-7);
  expect_close(alibi_slopes(8), reference("alibi", "slopes_8", torch::kFloat), 1e-7);
  EXPECT_EQ(alibi_slopes(6).scalar_type(), torch::kFloat);
  EXPECT_THROW_WITH(alibi_slopes(0), "num_heads must be > 0");
}

TEST_F(ModernFeaturesTest, AlibiMatchesPyTorchOnEveryPath) {
  expect_every_path_matches("alibi", "context", AttentionOptions().alibi_slopes(alibi_slopes(6)).causal(true),
                            1e-6);  // float32 slopes
  const auto q = torch::randn({1, 6, 7, 4});
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, q, q, AttentionOptions().alibi_slopes(alibi_slopes(4))),
                    "one slope per query head (H = 6");
}

// --------------------------------------------------------------------------------------------------- score_mod

TEST_F(ModernFeaturesTest, SoftcapMatchesPyTorchOnEveryPath) {
  expect_every_path_matches("score_mod", "softcap_context", AttentionOptions().score_mod(softcap(5)).causal(true));
  EXPECT_THROW_WITH(softcap(0), "cap must be > 0");
}

TEST_F(ModernFeaturesTest, LearnableRelativeBiasGetsPyTorchsGradientsOnEveryPath) {
  const auto inputs = leaves("score_mod", {"q", "k", "v", "bias"});
  const auto& bias = inputs[3];  // [H, 2T - 1]
  const auto relative_bias = [&](const torch::Tensor& scores, const ScoreIndex& index) {
    return scores + bias.index({index.head, index.query - index.key + 5});
  };
  for (const auto& path : every_path(AttentionOptions().score_mod(relative_bias).causal(true))) {
    SCOPED_TRACE(path.name);
    const auto outcome = run(
        [&] { return attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], path.options).context; },
        inputs);
    expect_close(outcome.context, reference("score_mod", "bias_context"), 1e-10);
    expect_close(outcome.gradients[0], reference("score_mod", "grad_q"), 1e-10);
    expect_close(outcome.gradients[1], reference("score_mod", "grad_k"), 1e-10);
    expect_close(outcome.gradients[2], reference("score_mod", "grad_v"), 1e-10);
    expect_close(outcome.gradients[3], reference("score_mod", "grad_bias"), 1e-10);
  }
}

TEST_F(ModernFeaturesTest, ScoreModSeesPositionsAndHeadsAndRunsBeforeTheMasks) {
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

// ------------------------------------------------------------------------------------------- rotary embeddings

TEST_F(ModernFeaturesTest, RotaryEmbeddingMatchesLlamasRotateHalf) {
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

TEST_F(ModernFeaturesTest, RotaryScoresDependOnlyOnRelativePositions) {
  const auto q = torch::randn({1, 1, 8}, torch::kDouble), k = torch::randn({1, 1, 8}, torch::kDouble);
  const auto score_at = [&](int64_t query_position, int64_t key_position) {
    return (rotary_embedding(q, torch::tensor({query_position})) * rotary_embedding(k, torch::tensor({key_position})))
        .sum()
        .item<double>();
  };
  EXPECT_NEAR(score_at(7, 3), score_at(1004, 1000), 1e-9);
  EXPECT_GT(std::abs(score_at(7, 3) - score_at(7, 4)), 1e-6);
}

// ------------------------------------------------------------------------------------------- key/value cache

/// A causal self-attention layer with GQA and RoPE, in float64 for exact comparisons.
SelfAttention decoder_layer() {
  SelfAttention layer(SelfAttentionOptions(16, 4).num_kv_heads(2).causal(true).rope(true));
  layer->to(torch::kDouble);
  return layer;
}

TEST_F(ModernFeaturesTest, DecodingTokenByTokenEqualsTheFullCausalForward) {
  auto layer = decoder_layer();
  const auto x = torch::randn({2, 9, 16}, torch::kDouble);
  const auto full = layer(x);
  KVCache cache;
  // A prompt of 4 tokens at once, then one token at a time.
  const auto prompt = layer->forward_cached(x.slice(1, 0, 4), cache);
  EXPECT_EQ(cache.size(), 4);
  expect_close(prompt.context, full.context.slice(1, 0, 4), 1e-12);
  for (int64_t t = 4; t < 9; ++t) {
    const auto step = layer->forward_cached(x.slice(1, t, t + 1), cache);
    EXPECT_EQ(step.weights.sizes(), (std::vector<int64_t>{2, 4, 1, t + 1}));
    expect_close(step.context, full.context.slice(1, t, t + 1), 1e-12);
    expect_close(step.weights, full.weights.slice(2, t, t + 1).slice(3, 0, t + 1), 1e-12);
  }
  EXPECT_EQ(cache.size(), 9);
  EXPECT_EQ(cache.keys().sizes(), (std::vector<int64_t>{2, 2, 9, 4}));  // rotated keys of the 2 key/value heads
  cache.clear();
  EXPECT_EQ(cache.size(), 0);
  EXPECT_FALSE(cache.keys().defined());
}

TEST_F(ModernFeaturesTest, Float32DecodingWithoutGradientsMatchesAndTheCacheRefusesOtherBatches) {
  SelfAttention layer(SelfAttentionOptions(16, 4).num_kv_heads(2).causal(true).rope(true));
  const auto x = torch::randn({1, 40, 16});
  torch::NoGradGuard no_grad;  // the cache then grows in place
  const auto full = layer(x);
  KVCache cache;
  for (int64_t t = 0; t < 40; ++t) {
    expect_close(layer->forward_cached(x.slice(1, t, t + 1), cache).context, full.context.slice(1, t, t + 1), 1e-5);
  }
  EXPECT_THROW_WITH(layer->forward_cached(torch::randn({2, 1, 16}), cache), "differ in batch, heads or width");
}

TEST_F(ModernFeaturesTest, GradientsFlowThroughTheCache) {
  auto layer = decoder_layer();
  const auto x = torch::randn({1, 5, 16}, torch::kDouble);
  const auto full_loss = [&] {
    const auto out = layer(x).context;
    return (out * testing::weighting_like(out)).sum();
  };
  full_loss().backward();
  const auto expected = layer->W_k->weight.grad().clone();
  layer->zero_grad();
  KVCache cache;
  std::vector<torch::Tensor> steps;
  for (int64_t t = 0; t < 5; ++t) {
    steps.push_back(layer->forward_cached(x.slice(1, t, t + 1), cache).context);
  }
  const auto out = torch::cat(steps, 1);
  (out * testing::weighting_like(out)).sum().backward();
  expect_close(layer->W_k->weight.grad(), expected, 1e-10);
}

TEST_F(ModernFeaturesTest, UnbatchedCachedDecodingAndAMaskOverTheCache) {
  auto layer = decoder_layer();
  const auto x = torch::randn({4, 16}, torch::kDouble);
  KVCache cache;
  layer->forward_cached(x.slice(0, 0, 3), cache);
  // The last token may not see cached token 1: a mask [B, H, 1, 4] over cached + new keys.
  auto allowed = torch::ones({1, 1, 1, 4}, torch::kBool);
  allowed[0][0][0][1] = false;
  const auto step = layer->forward_cached(x.slice(0, 3, 4), cache, allowed);
  EXPECT_EQ(step.context.sizes(), (std::vector<int64_t>{1, 16}));
  auto full_mask = causal_mask(4, 4).clone();
  full_mask[3][1] = false;
  expect_close(step.context, layer(x, full_mask).context.slice(0, 3, 4), 1e-12);
}

}  // namespace
}  // namespace attention
