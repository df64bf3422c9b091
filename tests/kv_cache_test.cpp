// The key/value cache: cached decoding equals the full causal forward, in values, weights and gradients.
#include <attention/attention.h>

#include "test_support.h"

#include <vector>

namespace attention {
namespace {

using testing::expect_close;

class KVCacheTest : public testing::SeededTest {};

/// A causal self-attention layer with GQA and RoPE, in float64 for exact comparisons.
SelfAttention decoder_layer() {
  SelfAttention layer(SelfAttentionOptions(16, 4).num_kv_heads(2).causal(true).rope(true));
  layer->to(torch::kDouble);
  return layer;
}

TEST_F(KVCacheTest, DecodingTokenByTokenEqualsTheFullCausalForward) {
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

TEST_F(KVCacheTest, Float32DecodingWithoutGradientsMatchesAndTheCacheRefusesOtherBatches) {
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

TEST_F(KVCacheTest, GradientsFlowThroughTheCache) {
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

// One query head per key/value head (GPT-2): a decoding step's single query row takes the CPU's elementwise products
// instead of matmul, forward and backward.
TEST_F(KVCacheTest, DecodingWithoutGroupedHeadsEqualsTheFullForwardWithGradients) {
  SelfAttention layer(SelfAttentionOptions(16, 4).causal(true));
  layer->to(torch::kDouble);
  const auto x = torch::randn({2, 7, 16}, torch::kDouble);
  const auto full = layer(x);
  const auto weighting = testing::weighting_like(full.context);
  (full.context * weighting).sum().backward();
  const auto expected_grad = layer->W_q->weight.grad().clone();
  layer->zero_grad();
  KVCache cache;
  std::vector<torch::Tensor> steps{layer->forward_cached(x.slice(1, 0, 3), cache).context};
  for (int64_t t = 3; t < 7; ++t) {
    const auto step = layer->forward_cached(x.slice(1, t, t + 1), cache);
    expect_close(step.weights, full.weights.slice(2, t, t + 1).slice(3, 0, t + 1), 1e-12);
    steps.push_back(step.context);
  }
  const auto decoded = torch::cat(steps, 1);
  expect_close(decoded, full.context, 1e-12);
  (decoded * weighting).sum().backward();
  expect_close(layer->W_q->weight.grad(), expected_grad, 1e-10);
}

TEST_F(KVCacheTest, UnbatchedCachedDecodingAndAMaskOverTheCache) {
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
