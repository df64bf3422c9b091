// BytePairEncoding: Hugging Face's BPE merge (tokenizers/src/models/bpe/word.rs, merge_all): the pair of
// lowest rank first, the leftmost of equal ranks, with a queue of candidate pairs and the symbols as a linked
// list, so a long piece costs n log n, not n^2.
#include "bpe.h"

#include "byte_level.h"

#include <c10/util/Exception.h>

#include <limits>
#include <queue>

namespace attention::detail {
namespace {

// The pieces kept in the cache: at most this many, of at most this many bytes (as Hugging Face's cache).
constexpr size_t kCacheEntries = 100'000;
constexpr size_t kCachedPieceBytes = 256;

}  // namespace

BytePairEncoding::BytePairEncoding(const TokenizerFiles& files) {
  std::unordered_map<std::string, int64_t> ids;
  ids.reserve(files.vocab.size());
  for (const auto& [token, id] : files.vocab) {
    TORCH_CHECK(id <= std::numeric_limits<uint32_t>::max(), files.vocab_file, ": the id ", id, " of token \"", token,
                "\" is too large");
    ids.emplace(token, id);
  }
  const auto& characters = byte_characters();
  for (int byte = 0; byte < 256; ++byte) {
    const auto found = ids.find(characters[byte]);
    TORCH_CHECK(found != ids.end(), files.vocab_file, ": the byte 0x", std::hex, byte, " has no token (\"",
                characters[byte], "\"): byte-level BPE needs all 256");
    byte_ids_[byte] = found->second;
  }
  TORCH_CHECK(files.merges.size() <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), files.merges_file,
              ": too many merges");
  rules_.reserve(files.merges.size());
  for (size_t rank = 0; rank < files.merges.size(); ++rank) {
    const auto& merge = files.merges[rank];
    const auto id_of = [&](const std::string& token, const char* what) {
      const auto found = ids.find(token);
      TORCH_CHECK(found != ids.end(), files.where(merge), ": the merge \"", merge.left, " ", merge.right, "\": its ",
                  what, " \"", token, "\" is not in the vocabulary (", files.vocab_file, ")");
      return found->second;
    };
    const auto left = id_of(merge.left, "left part");
    const auto right = id_of(merge.right, "right part");
    const auto merged = id_of(merge.left + merge.right, "result");
    // A pair written twice keeps its last rank, as in GPT-2's and Hugging Face's readers (a map filled in order).
    rules_.insert_or_assign(pair_key(left, right), Rule{static_cast<int32_t>(rank), merged});
  }
  if (files.ignore_merges) {
    whole_words_.reserve(files.vocab.size());
    for (const auto& [token, id] : files.vocab) {
      whole_words_.emplace(token_bytes(token), id);
    }
  }
}

void BytePairEncoding::encode(std::string_view piece, std::vector<int64_t>& ids) const {
  if (!whole_words_.empty()) {
    const auto found = whole_words_.find(std::string(piece));
    if (found != whole_words_.end()) {
      ids.push_back(found->second);
      return;
    }
  }
  const bool cached = piece.size() <= kCachedPieceBytes;
  if (cached) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto found = cache_.find(std::string(piece));
    if (found != cache_.end()) {
      ids.insert(ids.end(), found->second.begin(), found->second.end());
      return;
    }
  }
  auto merged = merge(piece);
  ids.insert(ids.end(), merged.begin(), merged.end());
  if (cached) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() < kCacheEntries) {
      cache_.emplace(std::string(piece), std::move(merged));
    }
  }
}

std::vector<int64_t> BytePairEncoding::merge(std::string_view piece) const {
  // The symbols, one a byte at first, as a linked list; a merged symbol's right neighbour is emptied.
  struct Symbol {
    int64_t id;
    int64_t previous;
    int64_t next;
    bool alive;
  };
  const auto n = static_cast<int64_t>(piece.size());
  std::vector<Symbol> symbols(piece.size());
  for (int64_t i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<unsigned char>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1, true};
  }
  // A candidate merge of the symbol at `left` with its right neighbour; the lowest rank, then the leftmost, first.
  struct Candidate {
    int32_t rank;
    int64_t left;
    int64_t merged;
    bool operator>(const Candidate& other) const { return rank != other.rank ? rank > other.rank : left > other.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  const auto propose = [&](int64_t left) {
    if (left < 0 || symbols[left].next < 0) {
      return;
    }
    const auto rule = rules_.find(pair_key(symbols[left].id, symbols[symbols[left].next].id));
    if (rule != rules_.end()) {
      queue.push({rule->second.rank, left, rule->second.merged});
    }
  };
  for (int64_t i = 0; i + 1 < n; ++i) {
    propose(i);
  }
  while (!queue.empty()) {
    const auto top = queue.top();
    queue.pop();
    auto& left = symbols[top.left];
    if (!left.alive || left.next < 0) {
      continue;
    }
    // Stale when either symbol has changed since it was proposed.
    const auto rule = rules_.find(pair_key(left.id, symbols[left.next].id));
    if (rule == rules_.end() || rule->second.merged != top.merged) {
      continue;
    }
    auto& right = symbols[left.next];
    right.alive = false;
    left.id = top.merged;
    left.next = right.next;
    if (left.next >= 0) {
      symbols[left.next].previous = top.left;
    }
    propose(left.previous);
    propose(top.left);
  }
  std::vector<int64_t> ids;
  for (int64_t i = n > 0 ? 0 : -1; i >= 0; i = symbols[i].next) {
    ids.push_back(symbols[i].id);
  }
  return ids;
}

}  // namespace attention::detail
