// PagedKVCache: decoding a ragged batch from blocks (forks sharing blocks, removal, a sliding window that evicts)
// gives, sequence by sequence, the attention of its whole key history, computed here by the plain formula.
#include <attention/paged_kv_cache.h>

#include "test_support.h"

#include <map>

namespace attention {
namespace {

using testing::expect_close;

/// softmax(q kᵀ / sqrt(d)) v of one sequence, float64: q [Tq, H, d] the newest of the Tk tokens of k [Tk, Hkv, d],
/// v [Tk, Hkv, dv], causal, and when `window` only keys at most window positions back.
torch::Tensor plain_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              std::optional<int64_t> window = std::nullopt) {
  const auto group = q.size(1) / k.size(1);
  const auto keys = k.repeat_interleave(group, 1).transpose(0, 1),
             values = v.repeat_interleave(group, 1).transpose(0, 1);
  const auto scores = torch::matmul(q.transpose(0, 1), keys.transpose(1, 2)) / std::sqrt(double(q.size(2)));
  const auto query_position = torch::arange(q.size(0)).unsqueeze(1) + (k.size(0) - q.size(0));
  const auto key_position = torch::arange(k.size(0)).unsqueeze(0);
  auto blocked = key_position > query_position;
  if (window) {
    blocked = blocked.logical_or(query_position - key_position > *window);
  }
  return torch::matmul(torch::softmax(scores.masked_fill(blocked, -INFINITY), -1), values).transpose(0, 1);
}

/// Keeps each sequence's key and value history beside the cache, to check every step against plain_attention().
class PagedKVCacheTest : public testing::SeededTest {
 protected:
  static constexpr int64_t kHeads = 4, kKvHeads = 2, kWidth = 8, kValueWidth = 3;

  /// Appends `counts[i]` random tokens to ids[i], attends their random queries, and checks each sequence.
  void step(PagedKVCache& cache, const std::vector<int64_t>& ids, const std::vector<int64_t>& counts,
            std::optional<int64_t> window = std::nullopt) {
    torch::NoGradGuard no_grad;
    int64_t total = 0;
    for (const auto count : counts) {
      total += count;
    }
    const auto k = torch::randn({total, kKvHeads, kWidth}, torch::kDouble),
               v = torch::randn({total, kKvHeads, kValueWidth}, torch::kDouble),
               q = torch::randn({total, kHeads, kWidth}, torch::kDouble);
    cache.append(ids, counts, k, v);
    auto options = AttentionOptions().causal(true);
    if (window) {
      options.window(*window);
    }
    const auto out = cache.attend(q, ids, counts, options);
    ASSERT_EQ(out.context.sizes(), torch::IntArrayRef({total, kHeads, kValueWidth}));
    int64_t first = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto& [keys, values] = history_[ids[i]];
      keys = keys.defined() ? torch::cat({keys, k.narrow(0, first, counts[i])}) : k.narrow(0, first, counts[i]);
      values = values.defined() ? torch::cat({values, v.narrow(0, first, counts[i])}) : v.narrow(0, first, counts[i]);
      EXPECT_EQ(cache.length(ids[i]), keys.size(0));
      if (counts[i] > 0) {
        SCOPED_TRACE("sequence " + std::to_string(ids[i]));
        expect_close(out.context.narrow(0, first, counts[i]),
                     plain_attention(q.narrow(0, first, counts[i]), keys, values, window), 1e-12);
      }
      first += counts[i];
    }
  }
  void fork_history(int64_t from, int64_t to) { history_[to] = history_[from]; }

  std::map<int64_t, std::pair<torch::Tensor, torch::Tensor>> history_;
};

TEST_F(PagedKVCacheTest, RaggedStepsForksAndRemovalAttendEachSequencesOwnKeys) {
  PagedKVCache cache(PagedKVCacheOptions().block_size(4));
  const auto a = cache.add_sequence(), b = cache.add_sequence();
  step(cache, {a, b}, {6, 3});          // prompts of different lengths
  EXPECT_EQ(cache.blocks_in_use(), 3);  // a: 2 blocks, b: 1
  step(cache, {a, b}, {1, 1});
  const auto c = cache.fork(a);  // shares a's 7 tokens: no new block
  fork_history(a, c);
  EXPECT_EQ(cache.length(c), 7);
  EXPECT_EQ(cache.blocks_in_use(), 3);
  // c writes into the shared half-full block: copied; a then owns the original alone.
  step(cache, {c, a, b}, {2, 1, 5});
  EXPECT_EQ(cache.blocks_in_use(), 7);  // a 2, c 1 shared + 2 own, b 3 - 1 (a's block 0 counted once)
  step(cache, {b, c}, {0, 7});          // a sequence may add nothing in a step
  cache.remove(b);
  EXPECT_FALSE(cache.contains(b));
  EXPECT_EQ(cache.num_sequences(), 2);
  step(cache, {a, c}, {1, 1});
}

TEST_F(PagedKVCacheTest, AWindowedLayerKeepsOnlyTheBlocksOfItsWindow) {
  PagedKVCache cache(PagedKVCacheOptions().block_size(4).window(5));
  const auto id = cache.add_sequence();
  for (int t = 0; t < 40; ++t) {
    step(cache, {id}, {1}, /*window=*/5);
    EXPECT_LE(cache.blocks_in_use() * 4, 5 + 2 * 4);  // window + 2 blocks, whatever the length
  }
  EXPECT_EQ(cache.length(id), 40);
  torch::NoGradGuard no_grad;
  const auto q = torch::randn({1, kHeads, kWidth}, torch::kDouble);
  EXPECT_THROW_WITH(cache.attend(q, {id}, {1}, AttentionOptions().causal(true)), "attend with a window of at most 5");
}

TEST_F(PagedKVCacheTest, BadCallsNameTheProblem) {
  PagedKVCache cache(PagedKVCacheOptions().block_size(4));
  const auto id = cache.add_sequence();
  torch::NoGradGuard no_grad;
  const auto k = torch::randn({3, kKvHeads, kWidth}), v = torch::randn({3, kKvHeads, kValueWidth});
  EXPECT_THROW_WITH(cache.append({id + 1}, {3}, k, v), "no sequence 1 in the cache");
  EXPECT_THROW_WITH(cache.append({id}, {2}, k, v), "add up to 2, the keys have 3 rows");
  EXPECT_THROW_WITH(cache.append({id, id}, {1, 2}, k, v), "appears twice");
  cache.append({id}, {3}, k, v);
  EXPECT_THROW_WITH(cache.append({id}, {3}, k.to(torch::kDouble), v.to(torch::kDouble)), "the cache holds Float");
  EXPECT_THROW_WITH(cache.attend(torch::randn({4, kHeads, kWidth}), {id}, {4}), "holds 3 tokens");
  EXPECT_THROW_WITH(cache.attend(torch::randn({1, 3, kWidth}), {id}, {1}), "H a multiple of the cache's 2");
  EXPECT_THROW_WITH(PagedKVCache(PagedKVCacheOptions().block_size(0)), "block_size must be > 0");
  torch::AutoGradMode record(true);
  EXPECT_THROW_WITH(cache.attend(torch::randn({1, kHeads, kWidth}).requires_grad_(), {id}, {1}), "NoGradGuard");
}

}  // namespace
}  // namespace attention
