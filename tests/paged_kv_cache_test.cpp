// PagedKVCache: decoding a ragged batch from blocks (forks sharing blocks, removal, a sliding window that evicts)
// gives, sequence by sequence, the attention of its whole key history, computed here by the plain formula.
#include <attention/paged_kv_cache.h>

#include "test_support.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

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

// Decoding: a sequence's newest query row or few rows against all its keys take one tile with an ordinary softmax
// instead of tiles of keys with an online one. Float32, as models decode: each result against the plain formula in
// float64, against the tiles (the same row as the last of a query of many rows, which the tiles compute), and
// bitwise the same alone, in any batch and at any thread count.
TEST_F(PagedKVCacheTest, DecodingStepsInOneTileMatchTheTilesAndAreTheSameInAnyBatch) {
  torch::NoGradGuard no_grad;
  constexpr int64_t kRows = 20;  // a query of 20 rows per sequence takes the tiles
  struct Case {
    int64_t heads, kv_heads;
    std::optional<int64_t> window;
  };
  for (const auto& [heads, kv_heads, window] :
       {Case{4, 4, std::nullopt}, Case{8, 2, std::nullopt}, Case{4, 4, int64_t{700}}}) {
    SCOPED_TRACE("heads " + std::to_string(heads) + ", key/value heads " + std::to_string(kv_heads) +
                 (window ? ", window " + std::to_string(*window) : ""));
    auto options = AttentionOptions().causal(true);
    if (window) {
      options.window(*window);
    }
    // Prompts over several blocks of 256 and past one tile of the tiles (2048 keys), prefilled together; then a
    // step, which crosses into a new block for the second.
    const std::vector<int64_t> lengths{30, 512, 2500, 300};
    PagedKVCache cache;
    std::vector<int64_t> ids;
    std::vector<torch::Tensor> keys, values;
    for (const auto length : lengths) {
      ids.push_back(cache.add_sequence());
      keys.push_back(torch::randn({length + 1, kv_heads, 16}));
      values.push_back(torch::randn({length + 1, kv_heads, 8}));
    }
    const auto prefix = [&](const std::vector<torch::Tensor>& xs, int64_t extra) {
      std::vector<torch::Tensor> parts;
      for (size_t i = 0; i < xs.size(); ++i) {
        parts.push_back(xs[i].narrow(0, 0, lengths[i] + extra));
      }
      return torch::cat(parts);
    };
    cache.append(ids, lengths, prefix(keys, 0), prefix(values, 0));
    std::vector<torch::Tensor> last_keys, last_values;
    for (size_t i = 0; i < ids.size(); ++i) {
      last_keys.push_back(keys[i].narrow(0, lengths[i], 1));
      last_values.push_back(values[i].narrow(0, lengths[i], 1));
    }
    const std::vector<int64_t> ones(ids.size(), 1);
    cache.append(ids, ones, torch::cat(last_keys), torch::cat(last_values));

    const auto queries = torch::randn({static_cast<int64_t>(ids.size()), kRows, heads, 16});
    const auto together = cache.attend(queries.select(1, kRows - 1), ids, ones, options).context;  // [N, H, 8]
    for (size_t i = 0; i < ids.size(); ++i) {
      SCOPED_TRACE("sequence of " + std::to_string(lengths[i] + 1));
      const auto row = together.narrow(0, static_cast<int64_t>(i), 1);
      const auto query = queries.select(0, static_cast<int64_t>(i));  // [kRows, H, 16]
      expect_close(row,
                   plain_attention(query.narrow(0, kRows - 1, 1).to(torch::kDouble), keys[i].to(torch::kDouble),
                                   values[i].to(torch::kDouble), window),
                   1e-5);
      const auto tiles = cache.attend(query, {ids[i]}, {kRows}, options).context;
      expect_close(row, tiles.narrow(0, kRows - 1, 1), 1e-6);
      const auto alone = cache.attend(query.narrow(0, kRows - 1, 1), {ids[i]}, {1}, options).context;
      EXPECT_TRUE(torch::equal(row, alone));
    }
    const std::vector<int64_t> reversed(ids.rbegin(), ids.rend());
    const auto backwards = cache.attend(queries.select(1, kRows - 1).flip(0), reversed, ones, options).context;
    EXPECT_TRUE(torch::equal(backwards.flip(0), together));
    const int threads = torch::get_num_threads();
    for (const int count : {1, 2}) {
      attention::set_num_threads(count);
      EXPECT_TRUE(torch::equal(cache.attend(queries.select(1, kRows - 1), ids, ones, options).context, together))
          << count << " threads";
    }
    attention::set_num_threads(threads);
  }
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
