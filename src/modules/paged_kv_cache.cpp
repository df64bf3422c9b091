// PagedKVCache's storage: blocks from a pool that grows by doubling, a block table per sequence, shared blocks
// counted and copied on their first write, and the window's eviction.
#include <attention/paged_kv_cache.h>

#include <torch/torch.h>

#include <algorithm>
#include <unordered_set>

namespace attention {

PagedKVCache::PagedKVCache(const PagedKVCacheOptions& options) : options_(options) {
  TORCH_CHECK(options_.block_size() > 0, "PagedKVCache: block_size must be > 0, got ", options_.block_size());
  TORCH_CHECK(!options_.window() || *options_.window() >= 0, "PagedKVCache: window must be >= 0, got ",
              *options_.window());
}

int64_t PagedKVCache::add_sequence() {
  sequences_.emplace(next_id_, Sequence{});
  return next_id_++;
}

int64_t PagedKVCache::fork(int64_t id) {
  const auto copy = sequence(id, "PagedKVCache::fork");
  for (const auto block : copy.blocks) {
    if (block >= 0) {
      ++references_[static_cast<size_t>(block)];
    }
  }
  sequences_.emplace(next_id_, copy);
  return next_id_++;
}

void PagedKVCache::remove(int64_t id) {
  const auto& removed = sequence(id, "PagedKVCache::remove");
  for (const auto block : removed.blocks) {
    if (block >= 0) {
      release_block(block);
    }
  }
  sequences_.erase(id);
}

int64_t PagedKVCache::length(int64_t id) const { return sequence(id, "PagedKVCache::length").length; }

int64_t PagedKVCache::blocks_in_use() const {
  return static_cast<int64_t>(std::count_if(references_.begin(), references_.end(), [](int64_t n) { return n > 0; }));
}

const PagedKVCache::Sequence& PagedKVCache::sequence(int64_t id, const char* where) const {
  const auto found = sequences_.find(id);
  TORCH_CHECK(found != sequences_.end(), where, ": no sequence ", id,
              " in the cache (add_sequence() or fork() make one)");
  return found->second;
}

int64_t PagedKVCache::allocate_block() {
  if (free_blocks_.empty()) {
    grow_pool(std::max<int64_t>(1, static_cast<int64_t>(references_.size())));
  }
  const auto block = free_blocks_.back();
  free_blocks_.pop_back();
  references_[static_cast<size_t>(block)] = 1;
  return block;
}

void PagedKVCache::release_block(int64_t block) {
  if (--references_[static_cast<size_t>(block)] == 0) {
    free_blocks_.push_back(block);
  }
}

void PagedKVCache::grow_pool(int64_t blocks) {
  const auto old_blocks = static_cast<int64_t>(references_.size()), rows = options_.block_size();
  const auto grown = [&](const torch::Tensor& pool) {
    auto bigger = pool.new_empty({1, pool.size(1), (old_blocks + blocks) * rows, pool.size(3)});
    bigger.narrow(2, 0, old_blocks * rows).copy_(pool);
    return bigger;
  };
  keys_ = grown(keys_);
  values_ = grown(values_);
  references_.resize(static_cast<size_t>(old_blocks + blocks), 0);
  for (int64_t block = old_blocks + blocks - 1; block >= old_blocks; --block) {
    free_blocks_.push_back(block);  // the lowest first
  }
}

void PagedKVCache::prepare_writes(Sequence& sequence, int64_t count, std::vector<int64_t>& rows) {
  const auto block_size = options_.block_size();
  if (const auto window = options_.window()) {
    // The new queries sit at positions length.., and see keys from length - window on.
    const auto first_needed = sequence.length - *window;
    for (int64_t index = 0; (index + 1) * block_size <= first_needed; ++index) {
      auto& block = sequence.blocks[static_cast<size_t>(index)];
      if (block >= 0) {
        release_block(block);
        block = -1;
      }
    }
  }
  for (int64_t position = sequence.length; position < sequence.length + count; ++position) {
    const auto index = static_cast<size_t>(position / block_size);
    if (index == sequence.blocks.size()) {
      sequence.blocks.push_back(allocate_block());
    } else if (references_[static_cast<size_t>(sequence.blocks[index])] > 1) {
      // Copy on write: the tokens before `position` in the shared block become this sequence's own.
      const auto shared = sequence.blocks[index], own = allocate_block();
      const auto filled = position % block_size;
      keys_.narrow(2, own * block_size, filled).copy_(keys_.narrow(2, shared * block_size, filled));
      values_.narrow(2, own * block_size, filled).copy_(values_.narrow(2, shared * block_size, filled));
      release_block(shared);
      sequence.blocks[index] = own;
    }
    rows.push_back(sequence.blocks[index] * block_size + position % block_size);
  }
  sequence.length += count;
}

void PagedKVCache::append(const std::vector<int64_t>& ids, const std::vector<int64_t>& new_tokens,
                          const torch::Tensor& keys, const torch::Tensor& values) {
  constexpr const char* where = "PagedKVCache::append";
  TORCH_CHECK(ids.size() == new_tokens.size(), where, ": one count of new tokens per id expected, got ", ids.size(),
              " ids and ", new_tokens.size(), " counts");
  TORCH_CHECK(keys.defined() && values.defined() && keys.dim() == 3 && values.dim() == 3 &&
                  keys.size(0) == values.size(0) && keys.size(1) == values.size(1),
              where, ": keys [T_new, Hkv, d] and values [T_new, Hkv, dv] expected, got keys ",
              keys.defined() ? keys.sizes() : torch::IntArrayRef{}, ", values ",
              values.defined() ? values.sizes() : torch::IntArrayRef{});
  std::unordered_set<int64_t> seen;
  int64_t total = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    sequence(ids[i], where);
    TORCH_CHECK(seen.insert(ids[i]).second, where, ": sequence ", ids[i], " appears twice in one append");
    TORCH_CHECK(new_tokens[i] >= 0, where, ": new token counts must be >= 0, got ", new_tokens[i]);
    total += new_tokens[i];
  }
  TORCH_CHECK(total == keys.size(0), where, ": the new token counts add up to ", total, ", the keys have ",
              keys.size(0), " rows");
  if (keys_.defined()) {
    TORCH_CHECK(keys.size(1) == keys_.size(1) && keys.size(2) == keys_.size(3) && values.size(2) == values_.size(3),
                where, ": the cache holds keys [", keys_.size(1), ", ", keys_.size(3), "] and values [",
                values_.size(1), ", ", values_.size(3), "] per token; new keys ", keys.sizes(), ", values ",
                values.sizes());
    TORCH_CHECK(keys.scalar_type() == keys_.scalar_type() && values.scalar_type() == keys_.scalar_type() &&
                    keys.device() == keys_.device() && values.device() == keys_.device(),
                where, ": the cache holds ", keys_.scalar_type(), " on ", keys_.device(), ", new keys are ",
                keys.scalar_type(), " on ", keys.device(), ", values ", values.scalar_type(), " on ", values.device());
  } else {
    TORCH_CHECK(keys.scalar_type() == values.scalar_type() && keys.is_floating_point(), where,
                ": keys and values must share a floating dtype, got ", keys.scalar_type(), " and ",
                values.scalar_type());
    keys_ = keys.new_empty({1, keys.size(1), 0, keys.size(2)});
    values_ = values.new_empty({1, values.size(1), 0, values.size(2)});
  }
  torch::NoGradGuard no_grad;  // the pool is storage, not a step of a graph
  // A prefill of many blocks grows the pool once, to the power of two that fits them, instead of doubling it block
  // after block: each doubling copies the pool into fresh memory. Fewer than one doubling's worth are left to
  // allocate_block().
  const auto block_size = options_.block_size();
  int64_t wanted = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& writer = sequences_.at(ids[i]);
    if (new_tokens[i] > 0) {
      const auto first = writer.length / block_size, last = (writer.length + new_tokens[i] - 1) / block_size;
      const bool own = first < static_cast<int64_t>(writer.blocks.size()) &&
                       references_[static_cast<size_t>(writer.blocks[static_cast<size_t>(first)])] == 1;
      wanted += last - first + (own ? 0 : 1);
    }
  }
  const auto missing = wanted - static_cast<int64_t>(free_blocks_.size()),
             pool = static_cast<int64_t>(references_.size());
  if (missing > pool) {
    int64_t size = 1;
    while (size < pool + missing) {
      size *= 2;
    }
    grow_pool(size - pool);
  }
  std::vector<int64_t> rows;
  rows.reserve(static_cast<size_t>(total));
  for (size_t i = 0; i < ids.size(); ++i) {
    prepare_writes(sequences_.at(ids[i]), new_tokens[i], rows);
  }
  const auto index = torch::tensor(rows, torch::TensorOptions(torch::kLong)).to(keys_.device());
  keys_.index_copy_(2, index, keys.permute({1, 0, 2}).unsqueeze(0));
  values_.index_copy_(2, index, values.permute({1, 0, 2}).unsqueeze(0));
}

}  // namespace attention
