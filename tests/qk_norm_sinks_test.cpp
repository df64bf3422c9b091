// RMSNorm, QK-norm (SelfAttentionOptions::qk_norm, the q_norm/k_norm options of multi_head_attention_forward) and
// the modules' learnable attention sinks, against PyTorch (tests/data/make_reference.py: qk_norm, module_sinks).
#include <attention/attention.h>

#include "test_support.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace attention {
namespace {

using testing::expect_close;
using testing::reference;
using testing::set_parameters;

class RMSNormTest : public testing::SeededTest {};
class QkNormTest : public testing::SeededTest {};
class ModuleSinksTest : public testing::SeededTest {};

/// The names of a module's parameters, in named_parameters() order.
std::vector<std::string> parameter_names(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& parameter : module.named_parameters()) {
    names.push_back(parameter.key());
  }
  return names;
}

template <typename Module>
std::string printed(const Module& module) {
  std::ostringstream stream;
  module->pretty_print(stream);
  return stream.str();
}

// ------------------------------------------------------------------------------------------------ RMSNorm

TEST_F(RMSNormTest, EqualsHandComputedValues) {
  // Rows [3, 4] (mean square 12.5) and [0, 0] (eps keeps it finite: zeros), weight [2, -0.5].
  const auto x = torch::tensor({{3.0, 4.0}, {0.0, 0.0}}, torch::kDouble);
  const auto weight = torch::tensor({2.0, -0.5}, torch::kDouble);
  const double scale = 1.0 / std::sqrt(12.5 + 1e-6);
  const auto expected = torch::tensor({{2.0 * 3.0 * scale, -0.5 * 4.0 * scale}, {0.0, 0.0}}, torch::kDouble);
  expect_close(rms_norm(x, weight), expected, 1e-15);
  // Another eps.
  const double scale_eps = 1.0 / std::sqrt(12.5 + 0.5);
  expect_close(rms_norm(x, weight, 0.5).select(0, 0),
               torch::tensor({2.0 * 3.0 * scale_eps, -0.5 * 4.0 * scale_eps}, torch::kDouble), 1e-15);
}

TEST_F(RMSNormTest, FloatingTypesKeepTheirDtypeAndMatchTheFormula) {
  const auto x = torch::randn({2, 3, 8}, torch::kDouble), weight = torch::randn({8}, torch::kDouble);
  const auto expected = weight * x / (x.pow(2).mean(-1, true) + 1e-6).sqrt();
  const auto doubles = rms_norm(x, weight);
  EXPECT_EQ(doubles.scalar_type(), torch::kDouble);  // float64 stays float64
  expect_close(doubles, expected, 1e-14);
  const auto floats = rms_norm(x.to(torch::kFloat), weight.to(torch::kFloat));
  EXPECT_EQ(floats.scalar_type(), torch::kFloat);
  expect_close(floats, expected, 1e-5);
}

TEST_F(RMSNormTest, Bfloat16IsNormalisedInFloat32ThenRoundedBeforeTheWeight) {
  const auto x = torch::randn({4, 16}).to(torch::kBFloat16), weight = torch::randn({16}).to(torch::kBFloat16);
  const auto y = rms_norm(x, weight);
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  // Hugging Face's LlamaRMSNorm: weight * (x_f32 * rsqrt(mean(x_f32², -1) + eps)).to(bfloat16), bit for bit.
  const auto wide = x.to(torch::kFloat);
  const auto hugging_face = weight * (wide * torch::rsqrt(wide.pow(2).mean(-1, true) + 1e-6)).to(torch::kBFloat16);
  EXPECT_TRUE(torch::equal(y, hugging_face));
  // And within bfloat16's rounding of the float32 computation.
  const auto in_float = rms_norm(wide, weight.to(torch::kFloat));
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat), in_float, 2e-2, 2e-2));
  // float16 likewise.
  const auto half = x.to(torch::kHalf), half_weight = weight.to(torch::kHalf);
  const auto half_expected = half_weight * (wide * torch::rsqrt(wide.pow(2).mean(-1, true) + 1e-6)).to(torch::kHalf);
  EXPECT_TRUE(torch::equal(rms_norm(half, half_weight), half_expected));
}

TEST_F(RMSNormTest, GradientsMatchFiniteDifferences) {
  const auto x = torch::randn({2, 3, 4}, torch::kDouble).requires_grad_();
  const auto weight = torch::randn({4}, torch::kDouble).requires_grad_();
  testing::expect_gradients_match_finite_differences(
      [&] { return (rms_norm(x, weight) * testing::weighting_like(x)).sum(); }, {x, weight});
}

TEST_F(RMSNormTest, ModuleHasAWeightOfOnesAndIsTheFunction) {
  RMSNorm norm(RMSNormOptions(6).eps(1e-5));
  EXPECT_EQ(parameter_names(*norm), (std::vector<std::string>{"weight"}));
  EXPECT_TRUE(torch::equal(norm->weight, torch::ones({6})));
  EXPECT_EQ(printed(norm), "attention::RMSNorm(dim=6, eps=1e-05)");
  {
    torch::NoGradGuard no_grad;
    norm->weight.normal_();
  }
  const auto x = torch::randn({2, 5, 6});
  EXPECT_TRUE(torch::equal(norm(x), rms_norm(x, norm->weight, 1e-5)));
  norm->reset_parameters();
  EXPECT_TRUE(torch::equal(norm->weight, torch::ones({6})));
  EXPECT_EQ(RMSNorm(3)->options.eps(), 1e-6);
}

TEST_F(RMSNormTest, BadInputsNameTheShapes) {
  RMSNorm norm(4);
  EXPECT_THROW_WITH(norm(torch::randn({2, 3, 5})),
                    "RMSNorm: x's last dimension (5) must be weight's size (4): x [2, 3, 5], weight [4]");
  EXPECT_THROW_WITH(rms_norm(torch::randn({3, 5}), torch::ones({4})), "rms_norm: x's last dimension (5)");
  EXPECT_THROW_WITH(rms_norm(torch::randn({3, 4}), torch::ones({2, 2})), "rms_norm: weight must be a vector [dim]");
  EXPECT_THROW_WITH(rms_norm(torch::randn({3, 4}), torch::ones({4}, torch::kDouble)),
                    "rms_norm: weight is Double on cpu, x Float on cpu");
  EXPECT_THROW_WITH(rms_norm(torch::ones({3, 4}, torch::kLong), torch::ones({4})), "must be floating point");
  EXPECT_THROW_WITH(rms_norm(torch::randn({3, 4}), torch::ones({4}), 0.0), "rms_norm: eps must be > 0");
  EXPECT_THROW_WITH(RMSNorm(0), "RMSNorm: dim must be > 0");
  EXPECT_THROW_WITH(RMSNorm(RMSNormOptions(4).eps(-1.0)), "RMSNorm: eps must be > 0");
}

// ------------------------------------------------------------------------------------------------ QK-norm

/// The reference case qk_norm's module: E 16, H 4, Hkv 2, no biases, causal, rope, QK-norm with eps 1e-6.
SelfAttentionOptions qwen3_options() {
  return SelfAttentionOptions(16, 4).num_kv_heads(2).bias(false).causal(true).rope(true).qk_norm(1e-6);
}

/// A SelfAttention of qwen3_options() in float64 with the reference weights, set by parameter name.
SelfAttention qwen3_from_reference() {
  SelfAttention self(qwen3_options());
  self->to(torch::kDouble);
  set_parameters(*self, {{"W_q.weight", reference("qk_norm", "W_q")},
                         {"W_k.weight", reference("qk_norm", "W_k")},
                         {"W_v.weight", reference("qk_norm", "W_v")},
                         {"W_o.weight", reference("qk_norm", "W_o")},
                         {"q_norm.weight", reference("qk_norm", "q_norm")},
                         {"k_norm.weight", reference("qk_norm", "k_norm")}});
  return self;
}

MultiHeadAttentionForwardOptions qwen3_forward_options() {
  const auto tensor = [](const char* name) { return reference("qk_norm", name); };
  return MultiHeadAttentionForwardOptions(4, tensor("W_q"), tensor("W_k"), tensor("W_v"), tensor("W_o"))
      .num_kv_heads(2)
      .attention_options(AttentionOptions().causal(true))
      .rope(true)
      .q_norm_weight(tensor("q_norm"))
      .k_norm_weight(tensor("k_norm"))
      .qk_norm_eps(1e-6);
}

TEST_F(QkNormTest, SelfAttentionMatchesTheQwen3StyleReference) {
  auto self = qwen3_from_reference();
  const auto x = reference("qk_norm", "x");
  expect_close(self(x).context, reference("qk_norm", "context"), 1e-12);
  expect_close(self(x[1]).context, reference("qk_norm", "context")[1], 1e-12);  // unbatched
}

TEST_F(QkNormTest, DecodingWithACacheMatchesTheReference) {
  auto self = qwen3_from_reference();
  const auto x = reference("qk_norm", "x");
  {  // the first 3 tokens, then the last 2 one by one: the reference's decoded_context
    KVCache cache;
    self->forward_cached(x.slice(1, 0, 3), cache);
    const auto fourth = self->forward_cached(x.slice(1, 3, 4), cache);
    const auto fifth = self->forward_cached(x.slice(1, 4, 5), cache);
    EXPECT_EQ(cache.size(), 5);
    expect_close(torch::cat({fourth.context, fifth.context}, 1), reference("qk_norm", "decoded_context"), 1e-12);
  }
  {  // token by token from the start: the causal forward of the whole sequence
    KVCache cache;
    std::vector<torch::Tensor> steps;
    for (int64_t i = 0; i < x.size(1); ++i) {
      steps.push_back(self->forward_cached(x.slice(1, i, i + 1), cache).context);
    }
    expect_close(torch::cat(steps, 1), reference("qk_norm", "context"), 1e-12);
  }
}

TEST_F(QkNormTest, PagedDecodingOfARaggedBatchMatchesTheReference) {
  auto self = qwen3_from_reference();
  const auto x = reference("qk_norm", "x"), context = reference("qk_norm", "context");  // [2, 5, E]
  torch::NoGradGuard no_grad;
  PagedKVCache cache(PagedKVCacheOptions().block_size(2));
  const auto a = cache.add_sequence(), b = cache.add_sequence();
  // a's 3-token prompt and b's 5 tokens in one step, then a's last two tokens one by one
  const auto prompts = self->forward_paged(torch::cat({x[0].slice(0, 0, 3), x[1]}), cache, {a, b}, {3, 5}).context;
  expect_close(prompts.slice(0, 0, 3), context[0].slice(0, 0, 3), 1e-12);
  expect_close(prompts.slice(0, 3, 8), context[1], 1e-12);
  const auto fourth = self->forward_paged(x[0].slice(0, 3, 4), cache, {a}, {1}).context;
  const auto fifth = self->forward_paged(x[0].slice(0, 4, 5), cache, {a, b}, {1, 0}).context;
  expect_close(torch::cat({fourth, fifth}), reference("qk_norm", "decoded_context")[0], 1e-12);
  EXPECT_EQ(cache.length(a), 5);
  EXPECT_EQ(cache.length(b), 5);
}

TEST_F(QkNormTest, PagedDecodingWithAWindowEqualsTheWindowedForward) {
  SelfAttention self(SelfAttentionOptions(8, 4).num_kv_heads(2).causal(true).rope(true).window(3));
  self->eval();
  const auto x = torch::randn({11, 8});
  torch::NoGradGuard no_grad;
  PagedKVCache cache(PagedKVCacheOptions().block_size(2).window(3));
  const auto id = cache.add_sequence();
  std::vector<torch::Tensor> steps{self->forward_paged(x.slice(0, 0, 4), cache, {id}, {4}).context};
  for (int64_t t = 4; t < 11; ++t) {
    steps.push_back(self->forward_paged(x.slice(0, t, t + 1), cache, {id}, {1}).context);
  }
  expect_close(torch::cat(steps), self(x).context, 1e-5);
  EXPECT_LE(cache.blocks_in_use(), 3);  // the window's 3 keys and the new one span at most 3 blocks of 2
}

TEST_F(QkNormTest, FunctionalMatchesTheReferenceWithAndWithoutACache) {
  const auto x = reference("qk_norm", "x");
  const auto options = qwen3_forward_options();
  expect_close(multi_head_attention_forward(x, x, x, options).context, reference("qk_norm", "context"), 1e-12);
  // Three separate tensors: three separate projections, the same result.
  expect_close(multi_head_attention_forward(x, x.clone(), x.clone(), options).context, reference("qk_norm", "context"),
               1e-12);
  KVCache cache;
  const auto prompt = x.slice(1, 0, 3), next = x.slice(1, 3, 5);
  multi_head_attention_forward(prompt, prompt, prompt, MultiHeadAttentionForwardOptions(options).kv_cache(&cache));
  const auto step =
      multi_head_attention_forward(next, next, next, MultiHeadAttentionForwardOptions(options).kv_cache(&cache));
  expect_close(step.context, reference("qk_norm", "decoded_context"), 1e-12);
  // Without the norms the result differs: they are applied.
  const auto plain = MultiHeadAttentionForwardOptions(options).q_norm_weight({}).k_norm_weight({});
  EXPECT_FALSE(torch::allclose(multi_head_attention_forward(x, x, x, plain).context, reference("qk_norm", "context"),
                               1e-3, 1e-3));
}

TEST_F(QkNormTest, OnlyTheQueriesOrOnlyTheKeysMayBeNormalised) {
  // Without rope or a mask the weights are softmax(q kᵀ / sqrt(d)), d = 4: computed here by hand from the heads.
  const auto x = torch::randn({2, 5, 16}, torch::kDouble);
  const auto w = [](const char* name) { return reference("qk_norm", name); };
  const auto base = MultiHeadAttentionForwardOptions(4, w("W_q"), w("W_k"), w("W_v"), w("W_o")).num_kv_heads(2);
  const auto q = torch::linear(x, w("W_q")).view({2, 5, 4, 4});  // [B, T, H, d]
  const auto k = torch::linear(x, w("W_k")).view({2, 5, 2, 4});  // [B, T, Hkv, d]
  const auto weights_of = [](const torch::Tensor& queries, const torch::Tensor& keys) {
    const auto q_heads = queries.transpose(1, 2), k_heads = keys.transpose(1, 2).repeat_interleave(2, 1);
    return torch::softmax(torch::matmul(q_heads, k_heads.transpose(-2, -1)) / 2.0, -1);
  };
  expect_close(
      multi_head_attention_forward(x, x, x, MultiHeadAttentionForwardOptions(base).q_norm_weight(w("q_norm"))).weights,
      weights_of(rms_norm(q, w("q_norm")), k), 1e-12);
  expect_close(
      multi_head_attention_forward(x, x, x, MultiHeadAttentionForwardOptions(base).k_norm_weight(w("k_norm"))).weights,
      weights_of(q, rms_norm(k, w("k_norm"))), 1e-12);
}

TEST_F(QkNormTest, ParametersAreNamedAfterTheProjections) {
  EXPECT_EQ(parameter_names(*SelfAttention(qwen3_options())),
            (std::vector<std::string>{"W_q.weight", "W_k.weight", "W_v.weight", "W_o.weight", "q_norm.weight",
                                      "k_norm.weight"}));
  SelfAttention with_bias(SelfAttentionOptions(8, 2).qk_norm(1e-5));
  EXPECT_EQ(parameter_names(*with_bias),
            (std::vector<std::string>{"W_q.weight", "W_q.bias", "W_k.weight", "W_k.bias", "W_v.weight", "W_v.bias",
                                      "W_o.weight", "W_o.bias", "q_norm.weight", "k_norm.weight"}));
  ASSERT_FALSE(with_bias->q_norm.is_empty());
  EXPECT_TRUE(torch::equal(with_bias->q_norm->weight, torch::ones({4})));  // d = 8 / 2
  EXPECT_TRUE(torch::equal(with_bias->k_norm->weight, torch::ones({4})));
  EXPECT_EQ(with_bias->q_norm->options.eps(), 1e-5);
  // Without qk_norm: no norms.
  SelfAttention plain(8, 2);
  EXPECT_TRUE(plain->q_norm.is_empty());
  EXPECT_TRUE(plain->k_norm.is_empty());
  EXPECT_EQ(parameter_names(*plain).size(), 8U);
}

TEST_F(QkNormTest, ResetParametersCloneAndPrettyPrint) {
  auto self = qwen3_from_reference();
  auto copy = std::dynamic_pointer_cast<SelfAttentionImpl>(self->clone());
  ASSERT_TRUE(copy);
  const auto x = reference("qk_norm", "x");
  EXPECT_TRUE(torch::equal(copy->forward(x).context, self(x).context));
  EXPECT_FALSE(copy->q_norm->weight.is_same(self->q_norm->weight));
  self->reset_parameters();
  EXPECT_TRUE(torch::equal(self->q_norm->weight, torch::ones({4}, torch::kDouble)));
  EXPECT_TRUE(torch::equal(self->k_norm->weight, torch::ones({4}, torch::kDouble)));
  EXPECT_EQ(printed(SelfAttention(qwen3_options())),
            "attention::SelfAttention(embed_dim=16, num_heads=4, num_kv_heads=2, bias=false, causal=true, dropout=0, "
            "rope_base=10000, qk_norm_eps=1e-06)");
}

TEST_F(QkNormTest, SaveAndLoadCarryTheNorms) {
  const auto path =
      (std::filesystem::temp_directory_path() / ("attention_qk_norm_" + std::to_string(::getpid()) + ".pt")).string();
  auto saved = qwen3_from_reference();
  torch::save(saved, path);
  SelfAttention loaded(qwen3_options());
  loaded->to(torch::kDouble);
  torch::load(loaded, path);
  EXPECT_TRUE(torch::equal(loaded->q_norm->weight, reference("qk_norm", "q_norm")));
  EXPECT_TRUE(torch::equal(loaded->k_norm->weight, reference("qk_norm", "k_norm")));
  expect_close(loaded(reference("qk_norm", "x")).context, reference("qk_norm", "context"), 1e-12);
  // A file without the norms does not load into a module with them.
  SelfAttention plain(SelfAttentionOptions(16, 4).num_kv_heads(2).bias(false));
  torch::save(plain, path);
  EXPECT_THROW(torch::load(loaded, path), c10::Error);
  std::filesystem::remove(path);
}

TEST_F(QkNormTest, BadNormsNameTheProblem) {
  const auto x = reference("qk_norm", "x");
  EXPECT_THROW_WITH(multi_head_attention_forward(x, x, x, qwen3_forward_options().q_norm_weight(torch::ones({3}))),
                    "multi_head_attention_forward: q_norm_weight must be [d] = [4], one value per element of a head "
                    "(d = W_q_weight's rows 16 / num_heads 4), got [3]");
  EXPECT_THROW_WITH(
      multi_head_attention_forward(x, x, x, qwen3_forward_options().k_norm_weight(torch::ones({4}, torch::kFloat))),
      "k_norm_weight is Float on cpu, the query Double on cpu");
  EXPECT_THROW_WITH(multi_head_attention_forward(x, x, x, qwen3_forward_options().qk_norm_eps(0.0)),
                    "qk_norm_eps must be > 0, got 0");
  EXPECT_THROW_WITH(SelfAttention(SelfAttentionOptions(8, 2).qk_norm(-1.0)),
                    "SelfAttention: qk_norm's epsilon must be > 0, got -1");
}

// ------------------------------------------------------------------------------------------------ sinks

TEST_F(ModuleSinksTest, ModulesRegisterZeroSinksOnePerQueryHead) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 4).num_kv_heads(2).sinks(true));
  SelfAttention self(SelfAttentionOptions(8, 4).num_kv_heads(2).bias(false).qk_norm(1e-6).sinks(true));
  // A module's own parameters come before its submodules' (as in PyTorch).
  EXPECT_EQ(parameter_names(*mha),
            (std::vector<std::string>{"sinks", "W_q.weight", "W_q.bias", "W_k.weight", "W_k.bias", "W_v.weight",
                                      "W_v.bias", "W_o.weight", "W_o.bias"}));
  EXPECT_EQ(parameter_names(*self), (std::vector<std::string>{"sinks", "W_q.weight", "W_k.weight", "W_v.weight",
                                                              "W_o.weight", "q_norm.weight", "k_norm.weight"}));
  for (const auto& sinks : {mha->sinks, self->sinks}) {
    ASSERT_TRUE(sinks.defined());
    EXPECT_TRUE(sinks.requires_grad());
    EXPECT_TRUE(torch::equal(sinks, torch::zeros({4})));
  }
  {
    torch::NoGradGuard no_grad;
    mha->sinks.fill_(2.0);
  }
  mha->reset_parameters();
  EXPECT_TRUE(torch::equal(mha->sinks, torch::zeros({4})));
  EXPECT_FALSE(MultiHeadAttention(8, 4)->sinks.defined());  // off by default
  EXPECT_FALSE(SelfAttention(8, 4)->sinks.defined());
  EXPECT_EQ(printed(mha),
            "attention::MultiHeadAttention(embed_dim=8, num_heads=4, num_kv_heads=2, bias=true, causal=false, "
            "dropout=0, sinks=true)");
  EXPECT_EQ(printed(SelfAttention(SelfAttentionOptions(8, 4).sinks(true))),
            "attention::SelfAttention(embed_dim=8, num_heads=4, bias=true, causal=false, dropout=0, sinks=true)");
}

/// The reference case module_sinks's weights, by parameter name (no biases).
std::vector<std::pair<std::string, torch::Tensor>> module_sinks_parameters() {
  return {{"W_q.weight", reference("module_sinks", "W_q")},
          {"W_k.weight", reference("module_sinks", "W_k")},
          {"W_v.weight", reference("module_sinks", "W_v")},
          {"W_o.weight", reference("module_sinks", "W_o")},
          {"sinks", reference("module_sinks", "sinks")}};
}

TEST_F(ModuleSinksTest, ModulesMatchTheReferenceAndTheFunctional) {
  SelfAttention self(SelfAttentionOptions(8, 2).bias(false).causal(true).sinks(true));
  self->to(torch::kDouble);
  set_parameters(*self, module_sinks_parameters());
  const auto x = reference("module_sinks", "x");
  const auto outcome = testing::forward_and_backward([&] { return self(x).context; }, {self->sinks});
  expect_close(outcome.context, reference("module_sinks", "context"), 1e-12);
  expect_close(outcome.gradients[0], reference("module_sinks", "grad_sinks"), 1e-12);
  // The functional API with the same sinks.
  const auto functional = multi_head_attention_forward(
      x, x, x,
      MultiHeadAttentionForwardOptions(2, self->W_q->weight, self->W_k->weight, self->W_v->weight, self->W_o->weight)
          .attention_options(AttentionOptions().causal(true).sinks(reference("module_sinks", "sinks"))));
  expect_close(functional.context, reference("module_sinks", "context"), 1e-12);
  // MultiHeadAttention, with the sinks as the same parameter.
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).bias(false).causal(true).sinks(true));
  mha->to(torch::kDouble);
  set_parameters(*mha, module_sinks_parameters());
  expect_close(mha(x, x, x).context, reference("module_sinks", "context"), 1e-12);
  // Without weights (the tiled path): the same context.
  SelfAttention fast(SelfAttentionOptions(8, 2).bias(false).causal(true).sinks(true).need_weights(false));
  fast->to(torch::kDouble);
  set_parameters(*fast, module_sinks_parameters());
  expect_close(fast(x).context, reference("module_sinks", "context"), 1e-12);
  // Token by token with a cache: the same context.
  KVCache cache;
  std::vector<torch::Tensor> steps;
  for (int64_t i = 0; i < x.size(1); ++i) {
    steps.push_back(self->forward_cached(x.slice(1, i, i + 1), cache).context);
  }
  expect_close(torch::cat(steps, 1), reference("module_sinks", "context"), 1e-12);
}

TEST_F(ModuleSinksTest, ZeroSinksReceiveAGradient) {
  SelfAttention self(SelfAttentionOptions(8, 2).causal(true).sinks(true));
  const auto x = torch::randn({2, 5, 8});
  const auto out = self(x);
  (out.context * testing::weighting_like(out.context)).sum().backward();
  ASSERT_TRUE(self->sinks.grad().defined());
  EXPECT_EQ(self->sinks.grad().sizes(), (std::vector<int64_t>{2}));
  EXPECT_TRUE(self->sinks.grad().ne(0).all().item<bool>()) << self->sinks.grad();
  // Zero sinks still change the result: each row gives exp(0) = 1 to the discarded logit.
  SelfAttention without(SelfAttentionOptions(8, 2).causal(true));
  set_parameters(*without, {{"W_q.weight", self->W_q->weight},
                            {"W_q.bias", self->W_q->bias},
                            {"W_k.weight", self->W_k->weight},
                            {"W_k.bias", self->W_k->bias},
                            {"W_v.weight", self->W_v->weight},
                            {"W_v.bias", self->W_v->bias},
                            {"W_o.weight", self->W_o->weight},
                            {"W_o.bias", self->W_o->bias}});
  EXPECT_FALSE(torch::allclose(without(x).context, out.context));
}

}  // namespace
}  // namespace attention
