// Attention over a PagedKVCache: each sequence a Segment whose keys are read block by block from the pool (key
// tiles are the cache's blocks), so decoding a ragged batch copies no keys.
#include <attention/paged_kv_cache.h>

#include "packed_attention.h"
#include "validation.h"

#include <torch/torch.h>

#include <unordered_set>

namespace attention {

AttentionOutput PagedKVCache::attend(const torch::Tensor& query, const std::vector<int64_t>& ids,
                                     const std::vector<int64_t>& query_tokens, const AttentionOptions& options) const {
  constexpr const char* where = "PagedKVCache::attend";
  TORCH_CHECK(keys_.defined(), where, ": the cache is empty (append() keys first)");
  TORCH_CHECK(ids.size() == query_tokens.size(), where, ": one count of query tokens per id expected, got ", ids.size(),
              " ids and ", query_tokens.size(), " counts");
  detail::check_floating(query, where, "query");
  TORCH_CHECK(query.dim() == 3 && query.size(1) % keys_.size(1) == 0 && query.size(2) == keys_.size(3), where,
              ": query [T_q, H, d] with H a multiple of the cache's ", keys_.size(1),
              " key/value heads and d = ", keys_.size(3), " expected, got ", query.sizes());
  TORCH_CHECK(query.scalar_type() == keys_.scalar_type() && query.device() == keys_.device(), where, ": the query is ",
              query.scalar_type(), " on ", query.device(), ", the cache holds ", keys_.scalar_type(), " on ",
              keys_.device());
  TORCH_CHECK(!(torch::GradMode::is_enabled() && query.requires_grad()), where,
              ": decoding from a paged cache records no gradients; run it under torch::NoGradGuard");
  TORCH_CHECK(
      !options.mask().defined() && !options.block_mask().defined() && !(options.training() && options.dropout() > 0),
      where, ": a dense mask, a block mask and dropout do not apply to a paged cache (use mask_mod)");
  if (const auto kept = options_.window()) {
    TORCH_CHECK(options.window() && *options.window() <= *kept, where, ": the cache keeps each sequence's last ", *kept,
                " keys only; attend with a window of at most ", *kept);
  }
  const auto shared = detail::packed_rule(options, query.size(1), keys_.size(1), query.device());
  std::vector<detail::Segment> segments;
  std::unordered_set<int64_t> seen;
  int64_t first_row = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& cached = sequence(ids[i], where);
    TORCH_CHECK(seen.insert(ids[i]).second, where, ": sequence ", ids[i], " appears twice");
    TORCH_CHECK(query_tokens[i] >= 0 && query_tokens[i] <= cached.length, where, ": sequence ", ids[i], " holds ",
                cached.length, " tokens; ", query_tokens[i], " of them cannot be its newest queries");
    detail::Segment segment;
    segment.rule = shared;
    segment.rule.query_len = query_tokens[i];
    segment.rule.key_len = cached.length;
    segment.rule.query_offset = cached.length - query_tokens[i];
    segment.query_start = first_row;
    segment.sequence = static_cast<int64_t>(i);
    segment.key_blocks = cached.blocks;
    segments.push_back(std::move(segment));
    first_row += query_tokens[i];
  }
  TORCH_CHECK(first_row == query.size(0), where, ": the query token counts add up to ", first_row, ", the query has ",
              query.size(0), " rows");
  return detail::packed_attention(query, keys_, values_, std::move(segments), options_.block_size(), options);
}

}  // namespace attention
