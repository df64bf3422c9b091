// CUDA against the CPU: every path, mask kind, feature and module, in float32, bfloat16 and float16, values and
// gradients. Skipped when LibTorch sees no CUDA device (benchmarks/gpu_check.sh runs them on a GPU machine).
#include <attention/attention.h>

#include "test_support.h"

#include <torch/cuda.h>

#include <string>
#include <vector>

namespace attention {
namespace {

class CudaTest : public testing::SeededTest {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available()) {
      GTEST_SKIP() << "no CUDA device";
    }
    testing::SeededTest::SetUp();
  }
};

struct Precision {
  torch::ScalarType dtype;
  double tolerance;  // relative to the largest magnitude of the CPU float32 result
};
const std::vector<Precision> kPrecisions = {{torch::kFloat, 2e-5}, {torch::kBFloat16, 4e-2}, {torch::kHalf, 6e-3}};

/// Expects |actual - expected| <= tolerance · max(1, max |expected|) everywhere, and no NaN.
void expect_near(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance,
                 const std::string& what) {
  ASSERT_TRUE(actual.defined()) << what;
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const auto a = actual.to(torch::kCPU, torch::kDouble), e = expected.to(torch::kCPU, torch::kDouble);
  EXPECT_FALSE(a.isnan().any().item<bool>()) << what;
  const double scale = std::max(1.0, e.abs().max().item<double>());
  EXPECT_LE((a - e).abs().max().item<double>(), tolerance * scale) << what;
}

/// Context and input gradients of sum(context · weighting) for inputs on `device` in `dtype`.
std::vector<torch::Tensor> context_and_gradients(const std::vector<torch::Tensor>& cpu_inputs, torch::Device device,
                                                 torch::ScalarType dtype, const AttentionOptions& options) {
  std::vector<torch::Tensor> inputs;
  for (const auto& x : cpu_inputs) {
    inputs.push_back(x.to(device, dtype).detach().requires_grad_());
  }
  auto on_device = options;
  if (options.mask().defined()) {
    on_device.mask(options.mask().to(device));
  }
  const auto context = attention::scaled_dot_product_attention(inputs[0], inputs[1], inputs[2], on_device).context;
  (context.to(torch::kFloat) * testing::weighting_like(context.to(torch::kFloat))).sum().backward();
  return {context, inputs[0].grad(), inputs[1].grad(), inputs[2].grad()};
}

TEST_F(CudaTest, EveryPathMaskKindAndDtypeMatchesTheCpu) {
  const auto q = torch::randn({2, 4, 37, 16}), k = torch::randn({2, 4, 45, 16}), v = torch::randn({2, 4, 45, 8});
  const auto grouped_kv = std::vector<torch::Tensor>{q, k.narrow(1, 0, 2), v.narrow(1, 0, 2)};
  const auto padding = padding_mask(torch::tensor({45, 0}), 45);
  const auto additive = torch::randn({37, 45}).masked_fill(torch::rand({37, 45}) > 0.7, -INFINITY);
  const std::vector<std::pair<std::string, AttentionOptions>> cases = {
      {"no mask", AttentionOptions()},
      {"causal top-left", AttentionOptions().causal(true)},
      {"causal bottom-right", AttentionOptions().causal(true).causal_alignment(CausalAlignment::BottomRight)},
      {"padding with fully masked rows", AttentionOptions().mask(padding)},
      {"additive", AttentionOptions().mask(additive).scale(0.2)},
      {"window", AttentionOptions().window(5).causal(true)},
      {"alibi", AttentionOptions().alibi_slopes(alibi_slopes(4)).causal(true)},
      {"softcap", AttentionOptions().score_mod(softcap(3))},
      {"grouped heads", AttentionOptions().enable_gqa(true).causal(true)},
  };
  for (const auto& [name, options] : cases) {
    const auto& inputs = name == "grouped heads" ? grouped_kv : std::vector<torch::Tensor>{q, k, v};
    const auto cpu = context_and_gradients(inputs, torch::kCPU, torch::kFloat,
                                           AttentionOptions(options).path(AttentionPath::Materialized));
    for (const auto path :
         {AttentionPath::Materialized, AttentionPath::Tiled, AttentionPath::Fused, AttentionPath::Auto}) {
      for (const auto& precision : kPrecisions) {
        const auto cuda = context_and_gradients(
            inputs, torch::kCUDA, precision.dtype,
            AttentionOptions(options).need_weights(false).path(path).block_size(path == AttentionPath::Tiled ? 16 : 0));
        const auto what = name + ", path " + std::to_string(static_cast<int>(path)) + ", " +
                          std::string(c10::toString(precision.dtype));
        EXPECT_EQ(cuda[0].scalar_type(), precision.dtype) << what;
        const char* parts[] = {"context", "grad q", "grad k", "grad v"};
        for (size_t i = 0; i < cuda.size(); ++i) {
          expect_near(cuda[i], cpu[i], precision.tolerance, what + ", " + parts[i]);
        }
      }
    }
  }
}

/// Output and parameter gradients of `module` (a clone on `device` in `dtype`) for `forward`.
template <typename Module, typename Forward>
std::vector<torch::Tensor> module_results(const Module& module, torch::Device device, torch::ScalarType dtype,
                                          const Forward& forward) {
  auto copy = std::dynamic_pointer_cast<typename Module::ContainedType>(module->clone());
  copy->to(device, dtype);
  const auto out = forward(*copy, device, dtype);
  (out.to(torch::kFloat) * testing::weighting_like(out.to(torch::kFloat))).sum().backward();
  std::vector<torch::Tensor> results{out};
  for (const auto& parameter : copy->parameters()) {
    results.push_back(parameter.grad());
  }
  return results;
}

template <typename Module, typename Forward>
void expect_module_matches_the_cpu(const Module& module, const Forward& forward, const std::string& name) {
  const auto cpu = module_results(module, torch::kCPU, torch::kFloat, forward);
  for (const auto& precision : kPrecisions) {
    const auto cuda = module_results(module, torch::kCUDA, precision.dtype, forward);
    ASSERT_EQ(cuda.size(), cpu.size());
    for (size_t i = 0; i < cuda.size(); ++i) {
      expect_near(cuda[i], cpu[i], precision.tolerance,
                  name + " " + std::string(c10::toString(precision.dtype)) + (i == 0 ? " output" : " gradient"));
    }
  }
}

TEST_F(CudaTest, EveryModuleMatchesTheCpu) {
  const auto x = torch::randn({3, 20, 16}), memory = torch::randn({3, 11, 6});
  const auto on = [](const torch::Tensor& t, torch::Device device, torch::ScalarType dtype) {
    return t.to(device, dtype);
  };
  ScaledDotProductAttention single(ScaledDotProductAttentionOptions(16, 8).causal(true));
  expect_module_matches_the_cpu(
      single,
      [&](auto& m, auto device, auto dtype) {
        const auto in = on(x, device, dtype);
        return m.forward(in, in, in).context;
      },
      "ScaledDotProductAttention");
  MultiHeadAttention cross(MultiHeadAttentionOptions(16, 4).kdim(6).vdim(6).num_kv_heads(2));
  expect_module_matches_the_cpu(
      cross,
      [&](auto& m, auto device, auto dtype) {
        const auto mask = padding_mask(torch::tensor({11, 4, 0}), 11).to(device);
        return m.forward(on(x, device, dtype), on(memory, device, dtype), on(memory, device, dtype), mask).context;
      },
      "MultiHeadAttention (cross, grouped, padding)");
  SelfAttention decoder(SelfAttentionOptions(16, 4).num_kv_heads(1).causal(true).rope(true).need_weights(false));
  expect_module_matches_the_cpu(
      decoder, [&](auto& m, auto device, auto dtype) { return m.forward(on(x, device, dtype)).context; },
      "SelfAttention (multi-query, rotary, causal)");
  SimpleAttention simple;
  const auto cpu = simple(x);
  const auto cuda = simple(x.to(torch::kCUDA));
  expect_near(cuda.context, cpu.context, 1e-5, "SimpleAttention context");
  expect_near(cuda.weights, cpu.weights, 1e-5, "SimpleAttention weights");
}

TEST_F(CudaTest, CachedDecodingOnTheGpuEqualsTheFullForward) {
  SelfAttention layer(SelfAttentionOptions(32, 4).num_kv_heads(2).causal(true).rope(true));
  layer->to(torch::kCUDA);
  const auto x = torch::randn({2, 12, 32}, torch::kCUDA);
  torch::NoGradGuard no_grad;
  const auto full = layer(x);
  KVCache cache;
  for (int64_t t = 0; t < 12; ++t) {
    expect_near(layer->forward_cached(x.slice(1, t, t + 1), cache).context, full.context.slice(1, t, t + 1), 1e-5,
                "step " + std::to_string(t));
  }
  EXPECT_TRUE(cache.keys().is_cuda());
}

TEST_F(CudaTest, RaggedFeaturesMatchTheCpu) {
  // varlen with sinks and the log-sum-exp, cu_seqlens on the GPU; a block mask of a document mask; values and
  // gradients in float32.
  const auto q = torch::randn({20, 4, 16}), k = torch::randn({26, 2, 16}), v = torch::randn({26, 2, 8});
  const auto cu_q = torch::tensor({0, 5, 5, 20}, torch::kInt32), cu_k = torch::tensor({0, 7, 9, 26}, torch::kInt32);
  const auto sinks = torch::randn({4});
  const auto varlen = [&](torch::Device device) {
    std::vector<torch::Tensor> inputs;
    for (const auto& x : {q, k, v, sinks}) {
      inputs.push_back(x.to(device).requires_grad_());
    }
    const auto out =
        attention::varlen_attention(inputs[0], inputs[1], inputs[2], cu_q.to(device), cu_k.to(device),
                                    AttentionOptions().causal(true).window(4).sinks(inputs[3]).return_lse(true));
    (out.context * testing::weighting_like(out.context)).sum().backward();
    return std::vector<torch::Tensor>{out.context,      out.lse,          inputs[0].grad(),
                                      inputs[1].grad(), inputs[2].grad(), inputs[3].grad()};
  };
  const auto cpu = varlen(torch::kCPU), cuda = varlen(torch::kCUDA);
  for (size_t i = 0; i < cpu.size(); ++i) {
    expect_near(cuda[i], cpu[i], 2e-5, "varlen output " + std::to_string(i));
  }
  const auto ids = torch::arange(300).div(70, "floor");
  const auto x = torch::randn({1, 2, 300, 16});
  const auto blocked = [&](torch::Device device) {
    const auto documents = document_mask(ids.to(device));
    const auto mask = create_block_mask(documents, 1, 1, 300, 300, 64, device);
    return attention::scaled_dot_product_attention(x.to(device), x.to(device), x.to(device),
                                                   AttentionOptions().causal(true).block_mask(mask).need_weights(false))
        .context;
  };
  expect_near(blocked(torch::kCUDA), blocked(torch::kCPU), 2e-5, "block mask");
}

TEST_F(CudaTest, PagedDecodingOnTheGpuEqualsTheFullForward) {
  SelfAttention layer(SelfAttentionOptions(32, 4).num_kv_heads(2).causal(true).rope(true).qk_norm(1e-6));
  layer->to(torch::kCUDA);
  const auto x = torch::randn({2, 9, 32}, torch::kCUDA);
  torch::NoGradGuard no_grad;
  const auto full = layer(x).context;
  PagedKVCache cache(PagedKVCacheOptions().block_size(4));
  const auto a = cache.add_sequence(), b = cache.add_sequence();
  const auto prompts =
      layer->forward_paged(torch::cat({x[0].slice(0, 0, 6), x[1].slice(0, 0, 3)}), cache, {a, b}, {6, 3});
  expect_near(prompts.context.slice(0, 0, 6), full[0].slice(0, 0, 6), 1e-5, "prompt a");
  expect_near(prompts.context.slice(0, 6, 9), full[1].slice(0, 0, 3), 1e-5, "prompt b");
  const auto next = layer->forward_paged(torch::stack({x[0][6], x[1][3]}), cache, {a, b}, {1, 1});
  expect_near(next.context[0], full[0][6], 1e-5, "a's next token");
  expect_near(next.context[1], full[1][3], 1e-5, "b's next token");
}

}  // namespace
}  // namespace attention
