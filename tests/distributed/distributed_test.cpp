// Attention::distributed, run by tests/distributed/launch.cpp as N ranks on 127.0.0.1 (tests/CMakeLists.txt says
// which filters run how). Every rank runs the same tests in the same order, so their collectives pair up.

#include <attention/distributed.h>
#include <attention/functional.h>

#include <torch/torch.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <optional>

namespace attention {
namespace {

/// The process group of this test run, joined once; std::nullopt when not started by the launcher.
std::optional<DistributedProcess>& process() {
  static std::optional<DistributedProcess> joined =
      join_process_group_from_environment(ProcessGroupOptions().timeout(std::chrono::seconds(20)));
  return joined;
}

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!process()) {
      GTEST_SKIP() << "not started by attention_test_launch";
    }
  }
  const ProcessGroupPtr& group() const { return process()->group; }
  int64_t rank() const { return process()->rank; }
  int64_t world_size() const { return process()->world_size; }
};

using Collectives = Distributed;

TEST_F(Collectives, EnvironmentGivesRankAndWorld) {
  EXPECT_EQ(group()->getRank(), rank());
  EXPECT_EQ(group()->getSize(), world_size());
  EXPECT_EQ(process()->local_rank, rank());  // one machine
}

TEST_F(Collectives, MeanOverRanksAndBroadcast) {
  // Ranks hold 1, 2, ..., N: the mean is (N + 1) / 2.
  EXPECT_DOUBLE_EQ(mean_over_ranks(static_cast<double>(rank() + 1), group()), (world_size() + 1) / 2.0);
  auto tensor = torch::full({3}, static_cast<float>(rank() * 10));
  broadcast_tensors({tensor}, group(), world_size() - 1);
  EXPECT_TRUE(torch::equal(tensor, torch::full({3}, static_cast<float>((world_size() - 1) * 10))));
}

// Rank r's loss is (r + 1)·Σ used_everywhere + [r == 0]·Σ used_by_rank_0: the averaged gradients are
// (N + 1) / 2 and 1 / N, and zeros for a parameter no rank uses. Buckets of 8 bytes: one per parameter, each
// all-reduced from the hooks while backward runs.
TEST_F(Collectives, GradientAveragerGivesTheMeanOverRanks) {
  const auto n = static_cast<double>(world_size());
  for (const int64_t bucket_bytes : {int64_t{8}, int64_t{1} << 20}) {
    auto used_everywhere = torch::ones({2}, torch::requires_grad());
    auto used_by_rank_0 = torch::ones({2}, torch::requires_grad());
    auto unused = torch::ones({3}, torch::requires_grad());
    GradientAverager averager({used_everywhere, used_by_rank_0, unused}, group(), bucket_bytes);
    for (int step = 0; step < 2; ++step) {
      for (auto* parameter : {&used_everywhere, &used_by_rank_0, &unused}) {
        parameter->mutable_grad() = torch::Tensor();
      }
      auto loss = static_cast<double>(rank() + 1) * used_everywhere.sum();
      if (rank() == 0) {
        loss = loss + used_by_rank_0.sum();
      }
      loss.backward();
      averager.synchronize();
      EXPECT_TRUE(torch::allclose(used_everywhere.grad(), torch::full({2}, (n + 1) / 2)));
      EXPECT_TRUE(torch::allclose(used_by_rank_0.grad(), torch::full({2}, 1 / n)));
      EXPECT_TRUE(torch::equal(unused.grad(), torch::zeros({3})));
    }
  }
}

TEST(SequenceLayout, PartsByHand) {
  const auto whole = torch::arange(8).view({1, 1, 8, 1});
  const auto values = [&](int64_t rank, int64_t world, SequenceLayout layout) {
    return local_sequence_part(whole, rank, world, layout).flatten();
  };
  EXPECT_TRUE(torch::equal(values(1, 2, SequenceLayout::Contiguous), torch::tensor({4, 5, 6, 7})));
  EXPECT_TRUE(torch::equal(values(0, 2, SequenceLayout::Zigzag), torch::tensor({0, 1, 6, 7})));
  EXPECT_TRUE(torch::equal(values(1, 2, SequenceLayout::Zigzag), torch::tensor({2, 3, 4, 5})));
  EXPECT_TRUE(torch::equal(values(3, 4, SequenceLayout::Zigzag), torch::tensor({3, 4})));
  EXPECT_THROW(values(0, 3, SequenceLayout::Contiguous), c10::Error);  // 8 positions, 3 ranks
}

struct RingCase {
  bool causal;
  SequenceLayout layout;
  int64_t key_value_heads;
  torch::ScalarType dtype;
};

class RingAttention : public Distributed, public ::testing::WithParamInterface<RingCase> {};

// Every rank makes the same whole sequence, attends it alone with scaled_dot_product_attention (the reference),
// then its own part with ring_attention; its part of the reference's context and gradients must match.
TEST_P(RingAttention, EqualsScaledDotProductAttentionOnTheWholeSequence) {
  const auto& c = GetParam();
  const int64_t B = 2, H = 4, d = 8, dv = 6;
  const auto parts = world_size() * (c.layout == SequenceLayout::Zigzag ? 2 : 1);
  const auto T = parts * 5;
  torch::manual_seed(11);
  const auto options = torch::TensorOptions().dtype(c.dtype);
  const auto query = torch::randn({B, H, T, d}, options).requires_grad_(true);
  const auto key = torch::randn({B, c.key_value_heads, T, d}, options).requires_grad_(true);
  const auto value = torch::randn({B, c.key_value_heads, T, dv}, options).requires_grad_(true);
  const auto weighting = torch::randn({B, H, T, dv}, options);

  const auto expected =
      scaled_dot_product_attention(
          query, key, value, AttentionOptions().causal(c.causal).enable_gqa(c.key_value_heads != H).need_weights(false))
          .context;
  (expected * weighting).sum().backward();

  const auto local = [&](const torch::Tensor& whole) {
    return local_sequence_part(whole.detach(), rank(), world_size(), c.layout);
  };
  auto local_query = local(query).clone().requires_grad_(true);
  auto local_key = local(key).clone().requires_grad_(true);
  auto local_value = local(value).clone().requires_grad_(true);
  const auto context = ring_attention(local_query, local_key, local_value, group(),
                                      RingAttentionOptions().causal(c.causal).layout(c.layout));
  (context * local(weighting)).sum().backward();

  const double tolerance = c.dtype == torch::kFloat64 ? 1e-10 : 1e-5;
  const auto expect_close = [&](const torch::Tensor& actual, const torch::Tensor& wanted, const char* what) {
    EXPECT_TRUE(torch::allclose(actual, wanted, tolerance, tolerance))
        << what << " on rank " << rank() << ": max difference " << (actual - wanted).abs().max().item<double>();
  };
  expect_close(context, local(expected), "context");
  expect_close(local_query.grad(), local(query.grad()), "query gradient");
  expect_close(local_key.grad(), local(key.grad()), "key gradient");
  expect_close(local_value.grad(), local(value.grad()), "value gradient");
}

INSTANTIATE_TEST_SUITE_P(Cases, RingAttention,
                         ::testing::Values(RingCase{false, SequenceLayout::Contiguous, 4, torch::kFloat32},
                                           RingCase{true, SequenceLayout::Contiguous, 4, torch::kFloat32},
                                           RingCase{true, SequenceLayout::Zigzag, 4, torch::kFloat32},
                                           RingCase{false, SequenceLayout::Zigzag, 2, torch::kFloat32},
                                           RingCase{true, SequenceLayout::Contiguous, 2, torch::kFloat32},
                                           RingCase{true, SequenceLayout::Zigzag, 1, torch::kFloat64}),
                         [](const ::testing::TestParamInfo<RingCase>& info) {
                           return std::string(info.param.causal ? "Causal" : "Full") +
                                  (info.param.layout == SequenceLayout::Zigzag ? "Zigzag" : "Contiguous") + "Kv" +
                                  std::to_string(info.param.key_value_heads) +
                                  (info.param.dtype == torch::kFloat64 ? "Double" : "Float");
                         });

TEST_F(RingAttention, RanksThatDisagreeGetAnErrorNamingIt) {
  // Rank 0's part is one position longer than the others'.
  const auto length = rank() == 0 ? 5 : 4;
  const auto q = torch::randn({1, 2, length, 4});
  try {
    ring_attention(q, q, q, group());
    ADD_FAILURE() << "no error on rank " << rank();
  } catch (const c10::Error& error) {
    EXPECT_NE(std::string(error.what_without_backtrace()).find("the ranks disagree"), std::string::npos)
        << error.what_without_backtrace();
  }
  EXPECT_THROW(ring_attention(q, q.narrow(2, 0, 2), q, group()), c10::Error);  // on every rank, before any exchange
}

// Run as two ranks of which rank 1 leaves at once, as if killed: rank 0's next collective fails, with Gloo's
// error, within the group's timeout (20 s), instead of waiting forever.
TEST(RankFailure, ThePeerOfADeadRankGetsAnErrorInBoundedTime) {
  if (!process()) {
    GTEST_SKIP() << "not started by attention_test_launch";
  }
  if (process()->rank == 1) {
    std::_Exit(0);
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<torch::Tensor> tensors{torch::ones({4})};
  EXPECT_ANY_THROW(process()->group->allreduce(tensors)->wait());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(40));
}

// Run as two ranks while the launcher keeps MASTER_PORT bound: rank 0 cannot serve the store, rank 1 cannot reach
// it; both say so within the timeout.
TEST(PortInUse, EveryRankFailsWithAClearError) {
  const auto started = std::chrono::steady_clock::now();
  try {
    join_process_group_from_environment(ProcessGroupOptions().timeout(std::chrono::seconds(5)));
    ADD_FAILURE() << "joined although the port is in use";
  } catch (const std::runtime_error& error) {
    const std::string rank = std::getenv("RANK");
    const std::string message = error.what();
    EXPECT_NE(message.find(rank == "0" ? "could not serve the rendezvous store at 127.0.0.1:"
                                       : "could not reach the rendezvous store at 127.0.0.1:"),
              std::string::npos)
        << message;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));
}

// Without the launcher: the environment's mistakes, named.
TEST(JoinErrors, NamesTheVariable) {
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  EXPECT_FALSE(join_process_group_from_environment().has_value());
  ::setenv("WORLD_SIZE", "2", 1);
  try {
    join_process_group_from_environment();
    ADD_FAILURE() << "no error without RANK";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("RANK is not set"), std::string::npos) << error.what();
  }
  ::setenv("RANK", "2", 1);
  try {
    join_process_group_from_environment();
    ADD_FAILURE() << "no error with RANK 2 of 2";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("RANK='2' is not an integer from 0 to 1"), std::string::npos)
        << error.what();
  }
  ::setenv("RANK", "0", 1);
  ::unsetenv("MASTER_ADDR");
  try {
    join_process_group_from_environment();
    ADD_FAILURE() << "no error without MASTER_ADDR";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("MASTER_ADDR is not set"), std::string::npos) << error.what();
  }
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
}

}  // namespace
}  // namespace attention

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  torch::set_num_threads(1);  // the ranks share this machine's cores
  return RUN_ALL_TESTS();
}
