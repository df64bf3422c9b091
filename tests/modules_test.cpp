// The modules against PyTorch (reference data and LibTorch's own MultiheadAttention) and their contract.
#include <attention/attention.h>

#include "test_support.h"

#include <torch/version.h>

#include <sstream>

namespace attention {
namespace {

using testing::expect_close;
using testing::reference;
using testing::set_parameters;

class ModulesTest : public testing::SeededTest {};

/// Our MultiHeadAttention with the weights of PyTorch case `case_name`, whose q/k/v projections are either
/// packed (`in_proj_weight`) or separate (`q_proj_weight`, ...).
MultiHeadAttention mha_from_reference(const std::string& case_name, MultiHeadAttentionOptions options) {
  MultiHeadAttention mha(options);
  mha->to(torch::kDouble);
  const auto E = options.embed_dim();
  const auto biases = reference(case_name, "in_proj_bias").split(E);
  std::vector<torch::Tensor> weights;
  if (case_name == "mha_cross") {
    weights = {reference(case_name, "q_proj_weight"), reference(case_name, "k_proj_weight"),
               reference(case_name, "v_proj_weight")};
  } else {
    weights = reference(case_name, "in_proj_weight").split(E);
  }
  set_parameters(*mha, {{"W_q.weight", weights[0]},
                        {"W_k.weight", weights[1]},
                        {"W_v.weight", weights[2]},
                        {"W_q.bias", biases[0]},
                        {"W_k.bias", biases[1]},
                        {"W_v.bias", biases[2]},
                        {"W_o.weight", reference(case_name, "out_proj_weight")},
                        {"W_o.bias", reference(case_name, "out_proj_bias")}});
  return mha;
}

torch::Tensor loss_of(const AttentionOutput& out) {
  auto loss = (out.context * testing::weighting_like(out.context)).sum();
  if (out.weights.defined()) {
    loss = loss + (out.weights * testing::weighting_like(out.weights)).sum();
  }
  return loss;
}

std::vector<torch::Tensor> parameters_and(torch::nn::Module& module, std::vector<torch::Tensor> inputs) {
  for (const auto& parameter : module.parameters()) {
    inputs.push_back(parameter);
  }
  return inputs;
}

// ------------------------------------------------------------------------------------------ against PyTorch

TEST_F(ModulesTest, SeededScaledDotProductAttentionReproducesTheTutorial) {
  const auto x = reference("tutorial", "inputs", torch::kFloat);
  torch::manual_seed(789);  // as `torch.manual_seed(789)` then three nn.Linear(3, 2, bias=False)
  ScaledDotProductAttention sdpa(3, 2);
  EXPECT_TRUE(torch::equal(sdpa->W_q->weight, reference("seeded_sdpa", "W_q", torch::kFloat)));
  EXPECT_TRUE(torch::equal(sdpa->W_k->weight, reference("seeded_sdpa", "W_k", torch::kFloat)));
  EXPECT_TRUE(torch::equal(sdpa->W_v->weight, reference("seeded_sdpa", "W_v", torch::kFloat)));
  EXPECT_EQ(sdpa->parameters().size(), 3u);  // no biases by default
  const auto out = sdpa(x, x, x);
  expect_close(out.context[0], torch::tensor({-0.0739, 0.0713}), 1e-4);  // as printed in the book
  expect_close(out.context, reference("seeded_sdpa", "context"), 1e-6);
  expect_close(out.weights, reference("seeded_sdpa", "weights"), 1e-6);

  torch::manual_seed(789);
  ScaledDotProductAttention causal(ScaledDotProductAttentionOptions(3, 2).causal(true));
  const auto causal_out = causal(x, x, x);
  expect_close(causal_out.context, reference("seeded_sdpa", "causal_context"), 1e-6);
  expect_close(causal_out.weights, reference("seeded_sdpa", "causal_weights"), 1e-6);
}

TEST_F(ModulesTest, CrossAttentionWithOtherKeyAndValueWidthsMatchesPyTorch) {
  auto mha = mha_from_reference("mha_cross", MultiHeadAttentionOptions(8, 2).kdim(5).vdim(3));
  mha->eval();
  const auto query = reference("mha_cross", "query"), key = reference("mha_cross", "key"),
             value = reference("mha_cross", "value");
  const auto plain = mha(query, key, value);
  expect_close(plain.context, reference("mha_cross", "output_nomask"), 1e-12);
  expect_close(plain.weights, reference("mha_cross", "weights_nomask"), 1e-12);
  const auto lengths = reference("mha_cross", "lengths", torch::kLong);
  const auto padded = mha(query, key, value, padding_mask(lengths, key.size(1)));
  expect_close(padded.context, reference("mha_cross", "output"), 1e-12);
  expect_close(padded.weights, reference("mha_cross", "weights"), 1e-12);
}

TEST_F(ModulesTest, CausalSelfAttentionMatchesPyTorchAndItsHeadMean) {
  auto mha = mha_from_reference("mha_self_causal", MultiHeadAttentionOptions(6, 3).causal(true));
  const auto x = reference("mha_self_causal", "x");
  const auto out = mha(x, x, x);
  expect_close(out.context, reference("mha_self_causal", "output"), 1e-12);
  expect_close(out.weights, reference("mha_self_causal", "weights"), 1e-12);
  expect_close(mean_over_heads(out.weights), reference("mha_self_causal", "mean_weights"), 1e-12);

  // SelfAttention has the same parameter names, so the weights carry over as they are.
  SelfAttention self(SelfAttentionOptions(6, 3).causal(true));
  self->to(torch::kDouble);
  std::vector<std::pair<std::string, torch::Tensor>> by_name;
  for (const auto& parameter : mha->named_parameters()) {
    by_name.emplace_back(parameter.key(), parameter.value().detach());
  }
  set_parameters(*self, by_name);
  const auto self_out = self(x);
  expect_close(self_out.context, reference("mha_self_causal", "output"), 1e-12);
  expect_close(self_out.weights, reference("mha_self_causal", "weights"), 1e-12);
}

/// torch::nn::MultiheadAttention is sequence-first, [T, B, E], and its bool masks mean "blocked".
struct LibTorchPair {
  torch::nn::MultiheadAttention theirs;
  MultiHeadAttention ours;
  explicit LibTorchPair(int64_t embed_dim, int64_t heads)
      : theirs(torch::nn::MultiheadAttentionOptions(embed_dim, heads)), ours(embed_dim, heads) {
    torch::NoGradGuard no_grad;
    for (auto& bias : {theirs->in_proj_bias, theirs->out_proj->bias}) {
      bias.normal_();  // zero by default: give the biases values that a mistake would show
    }
    import_weights(*ours, *theirs);
  }
};

TEST_F(ModulesTest, MatchesLibTorchMultiheadAttentionWithImportedWeights) {
  LibTorchPair pair(16, 4);
  const auto B = 3, Tq = 5, Tk = 7;
  const auto query = torch::randn({B, Tq, 16}), key = torch::randn({B, Tk, 16}), value = torch::randn({B, Tk, 16});
  const auto seq_first = [](const torch::Tensor& t) { return t.transpose(0, 1); };

  // Self-attention, no mask.
  auto [their_self, their_self_weights] = pair.theirs->forward(seq_first(query), seq_first(query), seq_first(query),
                                                               torch::Tensor(), true, torch::Tensor(), false);
  const auto our_self = pair.ours(query, query, query);
  expect_close(our_self.context, seq_first(their_self), 1e-5);
  expect_close(our_self.weights, their_self_weights, 1e-5);

  // Cross-attention (Tq != Tk) with padding and a causal mask. Their bool key_padding_mask means "true =
  // blocked". Their attn_mask is given as an additive float mask: LibTorch 1.13's C++ module adds a bool
  // attn_mask to the scores as 0/1 instead of blocking (see LibTorchAddsBoolAttnMaskToTheScores below).
  const auto lengths = torch::tensor({7, 4, 1});
  const auto allowed_keys = padding_mask(lengths, Tk);  // [B, 1, 1, Tk]
  const auto causal = causal_mask(Tq, Tk);
  const auto their_causal = torch::zeros({Tq, Tk}).masked_fill(causal.logical_not(), -INFINITY);
  auto [their_cross, their_cross_weights] =
      pair.theirs->forward(seq_first(query), seq_first(key), seq_first(value), allowed_keys.view({B, Tk}).logical_not(),
                           true, their_causal, false);
  const auto our_cross = pair.ours(query, key, value, allowed_keys & causal);
  expect_close(our_cross.context, seq_first(their_cross), 1e-5);
  expect_close(our_cross.weights, their_cross_weights, 1e-5);

  pair.ours->options.causal(true);  // the option equals the explicit mask
  const auto with_option = pair.ours(query, key, value, allowed_keys);
  EXPECT_TRUE(torch::equal(with_option.context, our_cross.context));
}

// The trap our true-means-attend bool masks avoid: LibTorch 1.13's C++ MultiheadAttention adds a bool attn_mask
// to the scores (true → +1) instead of blocking. If this starts failing, LibTorch fixed it; the test documents
// why the comparison above passes a float mask.
TEST_F(ModulesTest, LibTorchAddsBoolAttnMaskToTheScores) {
#if TORCH_VERSION_MAJOR >= 2
  GTEST_SKIP() << "checked on LibTorch 1.13 only";
#endif
  torch::nn::MultiheadAttention theirs(torch::nn::MultiheadAttentionOptions(4, 2));
  const auto q = torch::randn({2, 1, 4}), k = torch::randn({3, 1, 4});
  const auto blocked = torch::tensor({{false, true, true}, {false, false, true}});
  const auto weights = std::get<1>(theirs->forward(q, k, k, torch::Tensor(), true, blocked, false));
  EXPECT_GT(weights.masked_select(blocked.expand_as(weights)).min().item<float>(), 0.0f);  // still attended
}

TEST_F(ModulesTest, ImportWeightsRefusesMismatches) {
  torch::nn::MultiheadAttention theirs(torch::nn::MultiheadAttentionOptions(16, 4));
  MultiHeadAttention other_size(8, 4);
  EXPECT_THROW_WITH(import_weights(*other_size, *theirs), "sizes differ: source has embed_dim=16");
  MultiHeadAttention no_bias(MultiHeadAttentionOptions(16, 4).bias(false));
  EXPECT_THROW_WITH(import_weights(*no_bias, *theirs), "source has bias=1 but target has bias=0");
  torch::nn::MultiheadAttention bias_kv(torch::nn::MultiheadAttentionOptions(16, 4).add_bias_kv(true));
  MultiHeadAttention ours(16, 4);
  EXPECT_THROW_WITH(import_weights(*ours, *bias_kv), "add_bias_kv");
}

// ---------------------------------------------------------------------------------------------- gradients

TEST_F(ModulesTest, GradientsMatchFiniteDifferences) {
  const auto opts = torch::kDouble;
  {
    ScaledDotProductAttention sdpa(ScaledDotProductAttentionOptions(3, 2).bias(true).causal(true));
    sdpa->to(opts);
    const auto x = torch::randn({2, 4, 3}, opts).requires_grad_();
    testing::expect_gradients_match_finite_differences([&] { return loss_of(sdpa(x, x, x)); },
                                                       parameters_and(*sdpa, {x}));
  }
  {
    MultiHeadAttention mha(MultiHeadAttentionOptions(4, 2).kdim(3).vdim(5));
    mha->to(opts);
    const auto q = torch::randn({2, 3, 4}, opts).requires_grad_();
    const auto k = torch::randn({2, 4, 3}, opts).requires_grad_();
    const auto v = torch::randn({2, 4, 5}, opts).requires_grad_();
    const auto mask = padding_mask(torch::tensor({4, 0}), 4);  // batch 1 has no key at all
    testing::expect_gradients_match_finite_differences([&] { return loss_of(mha(q, k, v, mask)); },
                                                       parameters_and(*mha, {q, k, v}));
  }
  {
    SimpleAttention simple;
    const auto x = torch::randn({2, 4, 3}, opts).requires_grad_();
    testing::expect_gradients_match_finite_differences([&] { return loss_of(simple(x)); }, {x});
  }
  {
    SelfAttention self(SelfAttentionOptions(4, 2).causal(true));
    self->to(opts);
    const auto x = torch::randn({3, 4}, opts).requires_grad_();  // unbatched
    testing::expect_gradients_match_finite_differences([&] { return loss_of(self(x)); }, parameters_and(*self, {x}));
  }
}

// ------------------------------------------------------------------------------------------------- behaviour

TEST_F(ModulesTest, FullyMaskedRowsGiveZeroWeightsAndFiniteGradients) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).bias(false));
  const auto x = torch::randn({2, 3, 8}).requires_grad_();
  const auto out = mha(x, x, x, padding_mask(torch::tensor({3, 0}), 3));
  expect_close(out.weights[1], torch::zeros({2, 3, 3}), 0);
  expect_close(out.context[1], torch::zeros({3, 8}), 0);  // no bias: W_o of a zero context is zero
  expect_close(out.weights[0].sum(-1), torch::ones({2, 3}), 1e-6);
  loss_of(out).backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  for (const auto& parameter : mha->parameters()) {
    EXPECT_TRUE(torch::isfinite(parameter.grad()).all().item<bool>());
  }
}

TEST_F(ModulesTest, UnbatchedEqualsBatchedOfOne) {
  const auto x = torch::randn({5, 6});
  const auto mask = local_mask(5, 5, 2);
  ScaledDotProductAttention sdpa(6, 4);
  MultiHeadAttention mha(6, 3);
  SelfAttention self(6, 2);
  SimpleAttention simple;
  const auto check = [&](const AttentionOutput& unbatched, const AttentionOutput& batched) {
    EXPECT_TRUE(torch::allclose(unbatched.context, batched.context.squeeze(0), 1e-6, 1e-6));
    EXPECT_TRUE(torch::allclose(unbatched.weights, batched.weights.squeeze(0), 1e-6, 1e-6));
  };
  check(sdpa(x, x, x, mask), sdpa(x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0), mask));
  check(mha(x, x, x, mask), mha(x.unsqueeze(0), x.unsqueeze(0), x.unsqueeze(0), mask));
  check(self(x, mask), self(x.unsqueeze(0), mask));
  check(simple(x), simple(x.unsqueeze(0)));
  EXPECT_EQ(mha(x, x, x).weights.sizes(), (std::vector<int64_t>{3, 5, 5}));
  EXPECT_EQ(sdpa(x, x, x).weights.sizes(), (std::vector<int64_t>{5, 5}));
}

TEST_F(ModulesTest, DropoutFollowsTrainAndEval) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(16, 4).dropout(0.5));
  const auto x = torch::randn({2, 10, 16});
  mha->eval();
  EXPECT_TRUE(torch::equal(mha(x, x, x).context, mha(x, x, x).context));
  const auto eval_context = mha(x, x, x).context;
  mha->train();
  torch::manual_seed(3);
  const auto first = mha(x, x, x);
  torch::manual_seed(3);
  const auto second = mha(x, x, x);
  EXPECT_TRUE(torch::equal(first.context, second.context));
  EXPECT_FALSE(torch::allclose(first.context, eval_context));
  expect_close(first.weights.sum(-1), torch::ones({2, 4, 10}), 1e-6);  // weights before dropout
}

TEST_F(ModulesTest, NoWeightsWhenNotAsked) {
  SelfAttention self(SelfAttentionOptions(8, 2).need_weights(false));
  const auto x = torch::randn({2, 4, 8});
  const auto out = self(x);
  EXPECT_FALSE(out.weights.defined());
  self->options.need_weights(true);
  expect_close(self(x).context, out.context, 1e-6);  // the materialised path now; fused or tiled before
}

TEST_F(ModulesTest, OneThreadEqualsTwo) {
  MultiHeadAttention mha(64, 8);
  const auto x = torch::randn({4, 32, 64});
  const auto threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto one = mha(x, x, x);
  torch::set_num_threads(2);
  const auto two = mha(x, x, x);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.context, two.context));
}

TEST_F(ModulesTest, BadInputNamesTheProblem) {
  EXPECT_THROW_WITH(MultiHeadAttention(10, 3), "embed_dim (10) must be divisible by num_heads (3)");
  EXPECT_THROW_WITH(SelfAttention(8, 0), "num_heads must be > 0");
  EXPECT_THROW_WITH(ScaledDotProductAttention(0, 2), "d_in must be > 0");
  EXPECT_THROW_WITH(MultiHeadAttention(MultiHeadAttentionOptions(8, 2).dropout(1.5)), "dropout must be in [0, 1)");
  MultiHeadAttention mha(8, 2);
  const auto x = torch::randn({2, 3, 8});
  EXPECT_THROW_WITH(mha(torch::randn({2, 3, 4, 8}), x, x), "got query [2, 3, 4, 8]");
  EXPECT_THROW_WITH(mha(x, torch::randn({3, 8}), x), "must all be batched [B, T, E] or all unbatched");
  EXPECT_THROW_WITH(mha(x, torch::randn({2, 3, 7}), x), "key width must be 8, got key [2, 3, 7]");
  EXPECT_THROW_WITH(mha(x, torch::randn({3, 3, 8}), torch::randn({3, 3, 8})), "same batch size");
  EXPECT_THROW_WITH(mha(x, x, torch::randn({2, 4, 8})), "key and value must have the same length");
  EXPECT_THROW_WITH(mha(x, x, x, torch::ones({2, 2, 4, 3}, torch::kBool)),
                    "does not broadcast to the scores [2, 2, 3, 3]");
  EXPECT_THROW_WITH(mha(x, x, x, torch::ones({3, 3}, torch::kUInt8)), "mask must be bool (true = may attend)");
  EXPECT_THROW_WITH(mha(x.to(torch::kInt), x, x), "query must be floating point");
  SelfAttention self(8, 2);
  EXPECT_THROW_WITH(self(torch::randn({2, 3, 6})), "SelfAttention: query width must be 8");
}

TEST_F(ModulesTest, PrettyPrint) {
  const auto printed = [](const auto& module) {
    std::ostringstream stream;
    module->pretty_print(stream);
    return stream.str();
  };
  EXPECT_EQ(printed(MultiHeadAttention(64, 8)),
            "attention::MultiHeadAttention(embed_dim=64, num_heads=8, bias=true, causal=false, dropout=0)");
  EXPECT_EQ(printed(MultiHeadAttention(MultiHeadAttentionOptions(8, 2).kdim(5).vdim(3))),
            "attention::MultiHeadAttention(embed_dim=8, num_heads=2, kdim=5, vdim=3, bias=true, causal=false, "
            "dropout=0)");
  EXPECT_EQ(printed(ScaledDotProductAttention(3, 2)),
            "attention::ScaledDotProductAttention(d_in=3, d_out=2, bias=false, causal=false, dropout=0)");
  EXPECT_EQ(printed(SelfAttention(SelfAttentionOptions(4, 2).causal(true).dropout(0.1))),
            "attention::SelfAttention(embed_dim=4, num_heads=2, bias=true, causal=true, dropout=0.1)");
  EXPECT_EQ(printed(SimpleAttention()), "attention::SimpleAttention()");
}

TEST_F(ModulesTest, CloneCopiesValuesNotStorage) {
  MultiHeadAttention mha(8, 2);
  auto copy = std::dynamic_pointer_cast<MultiHeadAttentionImpl>(mha->clone());
  ASSERT_TRUE(copy);
  const auto x = torch::randn({2, 3, 8});
  EXPECT_TRUE(torch::equal(copy->forward(x, x, x).context, mha(x, x, x).context));
  {
    torch::NoGradGuard no_grad;
    copy->W_o->weight.zero_();
  }
  EXPECT_FALSE(mha->W_o->weight.eq(0).all().item<bool>());
}

TEST_F(ModulesTest, WorksInsideAnyModuleWithTheDefaultMask) {
  torch::nn::AnyModule any(SelfAttention(8, 2));
  const auto x = torch::randn({2, 3, 8});
  const auto out = any.forward<AttentionOutput>(x);
  EXPECT_EQ(out.context.sizes(), x.sizes());
}

TEST_F(ModulesTest, ParametersAreNamedAndCounted) {
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).kdim(5).vdim(3));
  const auto parameters = mha->named_parameters();
  std::vector<std::string> names;
  for (const auto& parameter : parameters) {
    names.push_back(parameter.key());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"W_q.weight", "W_q.bias", "W_k.weight", "W_k.bias", "W_v.weight",
                                             "W_v.bias", "W_o.weight", "W_o.bias"}));
  int64_t count = 0;
  for (const auto& parameter : mha->parameters()) {
    count += parameter.numel();
  }
  EXPECT_EQ(count, (8 * 8 + 8) + (8 * 5 + 8) + (8 * 3 + 8) + (8 * 8 + 8));
}

}  // namespace
}  // namespace attention
