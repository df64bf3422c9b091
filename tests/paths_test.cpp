// The three paths (materialised, tiled, fused) against each other, how Auto chooses, dtypes and threads.
#include <attention/functional.h>

#include "test_support.h"

#include <torch/version.h>

#include <thread>
#include <vector>

namespace attention {
namespace {

using testing::expect_close;

class PathsTest : public testing::SeededTest {};

/// Values and gradients of the tiled path against the materialised path, for one configuration.
void expect_tiled_matches_materialized(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const AttentionOptions& options) {
  const auto run = [&](AttentionPath path) {
    const auto q2 = q.detach().requires_grad_(), k2 = k.detach().requires_grad_(), v2 = v.detach().requires_grad_();
    auto with_path = options;
    const auto out = attention::scaled_dot_product_attention(q2, k2, v2, with_path.path(path).need_weights(false));
    (out.context * testing::weighting_like(out.context)).sum().backward();
    return std::vector<torch::Tensor>{out.context, q2.grad(), k2.grad(), v2.grad()};
  };
  const auto tiled = run(AttentionPath::Tiled), materialized = run(AttentionPath::Materialized);
  const char* names[] = {"context", "grad query", "grad key", "grad value"};
  for (size_t i = 0; i < tiled.size(); ++i) {
    EXPECT_TRUE(torch::isfinite(tiled[i]).all().item<bool>()) << names[i];
    EXPECT_TRUE(torch::allclose(tiled[i], materialized[i], 1e-10, 1e-10))
        << names[i] << " block " << options.block_size() << ": max difference "
        << (tiled[i] - materialized[i]).abs().max().item<double>();
  }
}

TEST_F(PathsTest, TiledMatchesTheMaterializedPathForEveryBlockSizeAndMask) {
  const auto q = torch::randn({2, 3, 13, 4}, torch::kDouble), k = torch::randn({2, 3, 11, 4}, torch::kDouble);
  const auto v = torch::randn({2, 3, 11, 5}, torch::kDouble);
  const auto padding = padding_mask(torch::tensor({11, 3}), 11);  // [2, 1, 1, 11]
  const auto additive = torch::randn({13, 11}, torch::kDouble).masked_fill(torch::rand({13, 11}) > 0.7, -INFINITY);
  for (int64_t block : {1, 4, 7, 11, 13, 64}) {
    for (const auto& options :
         {AttentionOptions(), AttentionOptions().causal(true), AttentionOptions().mask(local_mask(13, 11, 2)),
          AttentionOptions().mask(padding).causal(true).causal_alignment(CausalAlignment::BottomRight),
          AttentionOptions().mask(additive), AttentionOptions().scale(0.7)}) {
      expect_tiled_matches_materialized(q, k, v, AttentionOptions(options).block_size(block));
    }
  }
}

TEST_F(PathsTest, TiledGivesZerosAndFiniteGradientsForFullyMaskedRows) {
  const auto q = torch::randn({2, 5, 4}, torch::kDouble), k = torch::randn({2, 6, 4}, torch::kDouble);
  const auto v = torch::randn({2, 6, 3}, torch::kDouble);
  const auto none_for_second = padding_mask(torch::tensor({6, 0}), 6).squeeze(1);  // [2, 1, 6]
  expect_tiled_matches_materialized(q, k, v, AttentionOptions().mask(none_for_second).block_size(4));
  // Tq > Tk, bottom-right causal: the first queries see no key at all.
  expect_tiled_matches_materialized(
      torch::randn({2, 8, 4}, torch::kDouble), k, v,
      AttentionOptions().causal(true).causal_alignment(CausalAlignment::BottomRight).block_size(3));
  const auto out = attention::scaled_dot_product_attention(
      q, k, v, AttentionOptions().mask(none_for_second).need_weights(false).path(AttentionPath::Tiled));
  EXPECT_TRUE(out.context[1].eq(0).all().item<bool>());
}

/// chosen_path() for a query of `query_len` positions and `key_len` keys and values (one head of width 8).
AttentionPath path_for(int64_t query_len, int64_t key_len, const AttentionOptions& options) {
  const auto query = torch::zeros({1, query_len, 8}), keys = torch::zeros({1, key_len, 8});
  return chosen_path(query, keys, keys, options);
}

/// The fused path on LibTorch 2.x, `otherwise` on 1.x.
AttentionPath fused_or(AttentionPath otherwise) { return TORCH_VERSION_MAJOR >= 2 ? AttentionPath::Fused : otherwise; }

/// Sets LibTorch's thread count for the scope, and restores the caller's.
class ThreadCount {
 public:
  explicit ThreadCount(int threads) : saved_(torch::get_num_threads()) { set_num_threads(threads); }
  ~ThreadCount() { set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

TEST_F(PathsTest, AutoFollowsTheMeasuredRule) {
  const ThreadCount one_thread(1);  // the rule is the same for any count (AutoIsTheSameForAnyThreadCount)
  const auto no_weights = AttentionOptions().need_weights(false);
  EXPECT_EQ(path_for(4096, 4096, AttentionOptions()), AttentionPath::Materialized);  // weights wanted
  // Forward, not causal: tiled above 2^24 scores in all, from 2^18 per head.
  EXPECT_EQ(path_for(4097, 4096, no_weights), fused_or(AttentionPath::Tiled));
  EXPECT_EQ(path_for(4096, 4096, no_weights), fused_or(AttentionPath::Materialized));
  const auto heads_of = [](int64_t heads, int64_t length) {
    const auto tokens = torch::zeros({heads, length, 8});
    return chosen_path(tokens, tokens, tokens, AttentionOptions().need_weights(false));
  };
  EXPECT_EQ(heads_of(65, 512), fused_or(AttentionPath::Tiled));
  EXPECT_EQ(heads_of(64, 512), fused_or(AttentionPath::Materialized));
  EXPECT_EQ(heads_of(65 * 4, 256), fused_or(AttentionPath::Materialized));  // too short to tile
  // Causal: tiled from 2^18 scores per head.
  EXPECT_EQ(path_for(512, 512, AttentionOptions(no_weights).causal(true)), fused_or(AttentionPath::Tiled));
  EXPECT_EQ(path_for(512, 511, AttentionOptions(no_weights).causal(true)), fused_or(AttentionPath::Materialized));
  // With gradients, not causal: tiled from 2^22 scores per head.
  const auto with_gradients = [](int64_t length, const AttentionOptions& options) {
    const auto tokens = torch::zeros({1, length, 8}, torch::requires_grad());
    return chosen_path(tokens, tokens, tokens, options);
  };
  EXPECT_EQ(with_gradients(2048, no_weights), fused_or(AttentionPath::Tiled));
  EXPECT_EQ(with_gradients(2047, no_weights), fused_or(AttentionPath::Materialized));
  EXPECT_EQ(with_gradients(512, AttentionOptions(no_weights).causal(true)), fused_or(AttentionPath::Tiled));
  {
    const torch::NoGradGuard no_gradients;  // nothing is recorded: the forward rule
    EXPECT_EQ(with_gradients(2047, no_weights), fused_or(AttentionPath::Materialized));
    EXPECT_EQ(with_gradients(4097, no_weights), fused_or(AttentionPath::Tiled));
  }
  EXPECT_EQ(path_for(4096, 4096, AttentionOptions(no_weights).dropout(0.1).training(true)),
            fused_or(AttentionPath::Materialized));
  // What the fused kernel can't express: a window runs tiled at any length (it skips what the band hides).
  EXPECT_EQ(path_for(64, 64, AttentionOptions(no_weights).window(8)), AttentionPath::Tiled);
  EXPECT_EQ(path_for(64, 64, AttentionOptions(no_weights).score_mod(softcap(5))), AttentionPath::Materialized);
  EXPECT_EQ(path_for(4, 4, AttentionOptions(no_weights).path(AttentionPath::Tiled)), AttentionPath::Tiled);
  EXPECT_EQ(path_for(4, 4, AttentionOptions(no_weights).path(AttentionPath::Fused)), fused_or(AttentionPath::Tiled));
  EXPECT_THROW_WITH(path_for(4, 4, AttentionOptions().path(AttentionPath::Tiled)), "needs need_weights(false)");
  EXPECT_THROW_WITH(path_for(4, 4, AttentionOptions().path(AttentionPath::Fused)), "needs need_weights(false)");
  const auto q = torch::randn({1, 1100, 8}), k = torch::randn({1, 1000, 8}), v = torch::randn({1, 1000, 8});
  const auto automatic = attention::scaled_dot_product_attention(q, k, v, AttentionOptions(no_weights).causal(true));
  const auto materialized = attention::scaled_dot_product_attention(
      q, k, v, AttentionOptions(no_weights).causal(true).path(AttentionPath::Materialized));
  EXPECT_TRUE(torch::allclose(automatic.context, materialized.context, 1e-5, 1e-5));
  EXPECT_THROW_WITH(attention::scaled_dot_product_attention(q, k, v, AttentionOptions(no_weights).block_size(-1)),
                    "block_size must be >= 0");
}

TEST_F(PathsTest, AutoIsTheSameForAnyThreadCount) {
  // Where the BLAS library runs threads of its own, more than one LibTorch thread changes how a path runs (on the
  // calling thread), never which path runs.
  const auto no_weights = AttentionOptions().need_weights(false);
  const auto tokens = torch::zeros({1, 1024, 8}, torch::requires_grad());
  const auto paths = [&] {
    return std::vector<AttentionPath>{path_for(512, 512, no_weights), path_for(4097, 4096, no_weights),
                                      path_for(4096, 4096, AttentionOptions(no_weights).causal(true)),
                                      path_for(64, 64, AttentionOptions(no_weights).window(8)),
                                      chosen_path(tokens, tokens, tokens, no_weights)};
  };
  const auto one_thread = [&] {
    const ThreadCount one(1);
    return paths();
  }();
  const ThreadCount two(2);
  EXPECT_EQ(paths(), one_thread);
  EXPECT_EQ(one_thread[0], fused_or(AttentionPath::Materialized));
  EXPECT_EQ(one_thread[1], fused_or(AttentionPath::Tiled));
}

TEST_F(PathsTest, Float32ErrorAgainstFloat64IsAtMostTwiceTheMaterializedError) {
  const auto q = torch::randn({4, 300, 32}, torch::kDouble), k = torch::randn({4, 300, 32}, torch::kDouble);
  const auto v = torch::randn({4, 300, 32}, torch::kDouble);
  const auto options = AttentionOptions().need_weights(false).causal(true).block_size(64);
  const auto exact =
      attention::scaled_dot_product_attention(q, k, v, AttentionOptions(options).path(AttentionPath::Materialized));
  const auto error_of = [&](AttentionPath path) {
    const auto out = attention::scaled_dot_product_attention(q.to(torch::kFloat), k.to(torch::kFloat),
                                                             v.to(torch::kFloat), AttentionOptions(options).path(path));
    return (out.context.to(torch::kDouble) - exact.context).abs().max().item<double>();
  };
  EXPECT_LE(error_of(AttentionPath::Tiled), 2 * error_of(AttentionPath::Materialized) + 1e-7);
}

TEST_F(PathsTest, SetNumThreadsTwiceIsFine) {
  const auto threads = torch::get_num_threads();
  set_num_threads(1);
  set_num_threads(2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  set_num_threads(threads);
  EXPECT_THROW_WITH(set_num_threads(0), "need at least 1 thread");
}

TEST_F(PathsTest, EveryPathLeavesTheThreadCountAsItWas) {
  // Where the BLAS library runs threads of its own, a call runs on the calling thread for its duration; the
  // caller's thread count must come back, after a result and after an error, on every path.
  const ThreadCount two(2);
  const auto q = torch::randn({2, 300, 8}, torch::requires_grad());
  for (const auto path : {AttentionPath::Auto, AttentionPath::Materialized, AttentionPath::Tiled}) {
    const auto options = AttentionOptions().need_weights(false).path(path).block_size(64);
    attention::scaled_dot_product_attention(q, q, q, options).context.sum().backward();
    EXPECT_EQ(torch::get_num_threads(), 2);
    const ScoreMod failing = [](const torch::Tensor&, const ScoreIndex&) -> torch::Tensor {
      throw std::runtime_error("score_mod failed");
    };
    EXPECT_THROW(attention::scaled_dot_product_attention(q, q, q, AttentionOptions(options).score_mod(failing)),
                 std::exception);
    EXPECT_EQ(torch::get_num_threads(), 2);
  }
}

TEST_F(PathsTest, Float64AndBFloat16InputsWork) {
  const auto q = torch::randn({2, 5, 8}), k = torch::randn({2, 6, 8}), v = torch::randn({2, 6, 4});
  const auto reference_out = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().causal(true));
  for (const auto dtype : {torch::kDouble, torch::kBFloat16}) {
    for (const auto path : {AttentionPath::Materialized, AttentionPath::Tiled}) {
      const auto out = attention::scaled_dot_product_attention(
          q.to(dtype), k.to(dtype), v.to(dtype),
          AttentionOptions().causal(true).need_weights(false).path(path).block_size(4));
      EXPECT_EQ(out.context.scalar_type(), dtype);
      const double tolerance = dtype == torch::kBFloat16 ? 5e-2 : 1e-6;
      EXPECT_TRUE(torch::allclose(out.context.to(torch::kFloat), reference_out.context, tolerance, tolerance))
          << dtype << ": max difference " << (out.context.to(torch::kFloat) - reference_out.context).abs().max();
    }
  }
}

/// Values and gradients of the fused path (or, on LibTorch 1.x, its fallback) against the materialised path.
void expect_fused_matches_materialized(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                       const AttentionOptions& options, const char* what) {
  SCOPED_TRACE(what);
  const auto no_weights = AttentionOptions(options).need_weights(false);
  EXPECT_EQ(chosen_path(q, k, v, AttentionOptions(no_weights).path(AttentionPath::Fused)),
            TORCH_VERSION_MAJOR >= 2 ? AttentionPath::Fused : AttentionPath::Tiled);
  const auto run = [&](AttentionPath path) {
    const auto q2 = q.detach().requires_grad_(), k2 = k.detach().requires_grad_(), v2 = v.detach().requires_grad_();
    const auto out = attention::scaled_dot_product_attention(q2, k2, v2, AttentionOptions(no_weights).path(path));
    (out.context * testing::weighting_like(out.context)).sum().backward();
    return std::vector<torch::Tensor>{out.context, q2.grad(), k2.grad(), v2.grad()};
  };
  const auto fused = run(AttentionPath::Fused), materialized = run(AttentionPath::Materialized);
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_TRUE(torch::isfinite(fused[i]).all().item<bool>()) << i;
    expect_close(fused[i], materialized[i], 1e-10);
  }
}

TEST_F(PathsTest, FusedMatchesTheMaterializedPathOnEveryMaskKind) {
  const auto q = torch::randn({2, 3, 7, 4}, torch::kDouble), k = torch::randn({2, 3, 9, 4}, torch::kDouble);
  const auto v = torch::randn({2, 3, 9, 5}, torch::kDouble);
  const auto padding = padding_mask(torch::tensor({9, 0}), 9);  // batch 1: every row fully masked
  const auto additive = torch::randn({7, 9}, torch::kDouble).masked_fill(torch::rand({7, 9}) > 0.6, -INFINITY);
  expect_fused_matches_materialized(q, k, v, AttentionOptions(), "no mask");
  expect_fused_matches_materialized(q, k, v, AttentionOptions().scale(0.3), "custom scale");
  expect_fused_matches_materialized(q, k, v, AttentionOptions().mask(padding), "padding, fully masked rows");
  expect_fused_matches_materialized(q, k, v, AttentionOptions().mask(additive), "additive mask with -inf");
  expect_fused_matches_materialized(q, k, v, AttentionOptions().causal(true), "causal top-left");
  expect_fused_matches_materialized(
      q, k, v, AttentionOptions().causal(true).causal_alignment(CausalAlignment::BottomRight), "causal bottom-right");
  expect_fused_matches_materialized(k, q, q.narrow(-1, 0, 3),
                                    AttentionOptions().causal(true).causal_alignment(CausalAlignment::BottomRight),
                                    "bottom-right with Tq > Tk: empty first rows");
  expect_fused_matches_materialized(q, k, v, AttentionOptions().mask(padding).causal(true), "padding and causal");
  const auto grouped = torch::randn({2, 6, 7, 4}, torch::kDouble);
  expect_fused_matches_materialized(grouped, k, v, AttentionOptions().enable_gqa(true).mask(padding),
                                    "grouped heads with a padding mask");
}

TEST_F(PathsTest, FusedDropoutOnlyInTraining) {
  const auto q = torch::randn({1, 2, 16, 8}), k = torch::randn({1, 2, 16, 8}), v = torch::randn({1, 2, 16, 8});
  const auto options = AttentionOptions().need_weights(false).dropout(0.5).path(AttentionPath::Fused);
  const auto evaluation = attention::scaled_dot_product_attention(q, k, v, options);
  expect_close(evaluation.context,
               attention::scaled_dot_product_attention(q, k, v, AttentionOptions(options).dropout(0)).context, 1e-6);
  const auto training = attention::scaled_dot_product_attention(q, k, v, AttentionOptions(options).training(true));
  EXPECT_GT((training.context - evaluation.context).abs().max().item<double>(), 1e-3);
}

TEST_F(PathsTest, TiledPathUsesFloat32AccumulatorsForHalfPrecisionInputs) {
  const auto q = torch::randn({2, 2, 300, 32}, torch::kDouble), k = torch::randn({2, 2, 300, 32}, torch::kDouble);
  const auto v = torch::randn({2, 2, 300, 32}, torch::kDouble);
  const auto exact = attention::scaled_dot_product_attention(q, k, v, AttentionOptions().causal(true)).context;
  for (const auto dtype : {torch::kBFloat16, torch::kHalf}) {
    const auto in_dtype = [&](const torch::Tensor& x) { return x.to(dtype); };
    const auto tiled = attention::scaled_dot_product_attention(
        in_dtype(q), in_dtype(k), in_dtype(v),
        AttentionOptions().causal(true).need_weights(false).path(AttentionPath::Tiled).block_size(32));
    EXPECT_EQ(tiled.context.scalar_type(), dtype);
    // The only rounding left is that of the inputs and of the result to half precision.
    const auto rounded =
        attention::scaled_dot_product_attention(in_dtype(q).to(torch::kDouble), in_dtype(k).to(torch::kDouble),
                                                in_dtype(v).to(torch::kDouble), AttentionOptions().causal(true))
            .context;
    const double unit = dtype == torch::kBFloat16 ? 1.0 / 128 : 1.0 / 1024;  // half an ulp at 1, and then some
    EXPECT_LE((tiled.context.to(torch::kDouble) - rounded).abs().max().item<double>(), 2 * unit) << dtype;
    EXPECT_LE((tiled.context.to(torch::kDouble) - exact).abs().max().item<double>(), 0.1) << dtype;
  }
}

TEST_F(PathsTest, EveryPathGivesTheSameResultsOnOneThreadAndOnSeveral) {
  const auto q = torch::randn({2, 4, 200, 16}), k = torch::randn({2, 4, 200, 16}), v = torch::randn({2, 4, 200, 8});
  const auto threads = torch::get_num_threads();
  for (const auto path : {AttentionPath::Materialized, AttentionPath::Tiled, AttentionPath::Fused}) {
    const auto options = AttentionOptions().causal(true).need_weights(false).path(path).block_size(32);
    torch::set_num_threads(1);
    const auto one = attention::scaled_dot_product_attention(q, k, v, options).context;
    torch::set_num_threads(4);
    const auto four = attention::scaled_dot_product_attention(q, k, v, options).context;
    torch::set_num_threads(threads);
    expect_close(four, one, 1e-6);
  }
}

TEST_F(PathsTest, FourThreadsCallingAtOnceGetTheResultsOfOneAndLeaveThreadSettingsAlone) {
  const auto q = torch::randn({2, 4, 300, 16}), k = torch::randn({2, 4, 300, 16}), v = torch::randn({2, 4, 300, 8});
  std::vector<AttentionOptions> cases;
  for (const auto path : {AttentionPath::Materialized, AttentionPath::Tiled, AttentionPath::Fused}) {
    cases.push_back(AttentionOptions().causal(true).need_weights(false).path(path).block_size(64));
  }
  std::vector<torch::Tensor> expected;
  for (const auto& options : cases) {
    expected.push_back(attention::scaled_dot_product_attention(q, k, v, options).context);
  }
  const auto threads_here = torch::get_num_threads();
  std::vector<std::vector<torch::Tensor>> results(4);
  std::vector<int> threads_seen(4);
  std::vector<std::thread> workers;
  for (size_t w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (int repeat = 0; repeat < 3; ++repeat) {
        for (const auto& options : cases) {
          results[w].push_back(attention::scaled_dot_product_attention(q, k, v, options).context);
        }
      }
      threads_seen[w] = torch::get_num_threads();
    });
  }
  for (auto& worker : workers) {
    worker.join();
  }
  EXPECT_EQ(torch::get_num_threads(), threads_here);
  for (size_t w = 0; w < 4; ++w) {
    EXPECT_EQ(threads_seen[w], threads_here) << "thread " << w;
    for (size_t i = 0; i < results[w].size(); ++i) {
      EXPECT_TRUE(torch::allclose(results[w][i], expected[i % cases.size()], 1e-6, 1e-6))
          << "thread " << w << ", call " << i;
    }
  }
}

}  // namespace
}  // namespace attention
