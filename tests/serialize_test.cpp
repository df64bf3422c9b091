// Modules survive torch::save / torch::load, and refuse checkpoints of other sizes.
#include <attention/attention.h>

#include "test_support.h"

#include <cstdio>
#include <filesystem>

namespace attention {
namespace {

class SerializeTest : public testing::SeededTest {
 protected:
  void TearDown() override { std::filesystem::remove(path_); }
  const std::string path_ =
      (std::filesystem::temp_directory_path() / ("attention_serialize_" + std::to_string(::getpid()) + ".pt")).string();
};

TEST_F(SerializeTest, RoundTripGivesBitIdenticalOutputs) {
  MultiHeadAttention saved(MultiHeadAttentionOptions(16, 4).kdim(6).vdim(5));
  torch::save(saved, path_);
  torch::manual_seed(99);  // a fresh module with other values
  MultiHeadAttention loaded(MultiHeadAttentionOptions(16, 4).kdim(6).vdim(5));
  const auto q = torch::randn({2, 3, 16}), k = torch::randn({2, 4, 6}), v = torch::randn({2, 4, 5});
  EXPECT_FALSE(torch::equal(loaded(q, k, v).context, saved(q, k, v).context));
  torch::load(loaded, path_);
  EXPECT_TRUE(torch::equal(loaded(q, k, v).context, saved(q, k, v).context));
  EXPECT_TRUE(torch::equal(loaded(q, k, v).weights, saved(q, k, v).weights));
}

TEST_F(SerializeTest, EveryModuleRoundTrips) {
  const auto x = torch::randn({2, 5, 8});
  ScaledDotProductAttention sdpa(8, 4);
  torch::save(sdpa, path_);
  ScaledDotProductAttention sdpa_loaded(8, 4);
  torch::load(sdpa_loaded, path_);
  EXPECT_TRUE(torch::equal(sdpa_loaded(x, x, x).context, sdpa(x, x, x).context));

  SelfAttention self(SelfAttentionOptions(8, 2).causal(true));
  torch::save(self, path_);
  SelfAttention self_loaded(SelfAttentionOptions(8, 2).causal(true));
  torch::load(self_loaded, path_);
  EXPECT_TRUE(torch::equal(self_loaded(x).context, self(x).context));

  // Same parameter names: a SelfAttention checkpoint loads into a MultiHeadAttention.
  MultiHeadAttention mha(MultiHeadAttentionOptions(8, 2).causal(true));
  torch::load(mha, path_);
  EXPECT_TRUE(torch::allclose(mha(x, x, x).context, self(x).context, 1e-6, 1e-6));
}

TEST_F(SerializeTest, OtherSizesAreRefusedByNameAndLeaveTheModuleUnchanged) {
  MultiHeadAttention small(8, 2);
  torch::save(small, path_);
  MultiHeadAttention wide(MultiHeadAttentionOptions(8, 2).kdim(4));
  const auto before = wide->W_q->weight.clone();
  EXPECT_THROW_WITH(torch::load(wide, path_), "'W_k.weight' has shape [8, 4] in this module but [8, 8] in the file");
  EXPECT_TRUE(torch::equal(wide->W_q->weight, before));  // nothing half-loaded

  MultiHeadAttention no_bias(MultiHeadAttentionOptions(8, 2).bias(false));
  torch::save(no_bias, path_);
  MultiHeadAttention with_bias(8, 2);
  EXPECT_THROW(torch::load(with_bias, path_), c10::Error);  // W_q.bias missing from the file

  ScaledDotProductAttention sdpa(3, 2);
  torch::save(sdpa, path_);
  ScaledDotProductAttention other(3, 4);
  EXPECT_THROW_WITH(torch::load(other, path_), "'W_q.weight' has shape [4, 3] in this module but [2, 3]");
}

}  // namespace
}  // namespace attention
