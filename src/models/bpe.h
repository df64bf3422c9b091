#pragma once
// Byte-pair encoding of one pre-tokenized piece: its bytes as byte tokens, merged by rank as the merges say.

#include "tokenizer_files.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace attention::detail {

class BytePairEncoding {
 public:
  /// The vocabulary and merges of `files`, checked: every byte has its token, and each merge's parts and
  /// result are tokens (c10::Error naming the file, the line or index of the merge, and the token).
  explicit BytePairEncoding(const TokenizerFiles& files);

  /// Appends the ids of `piece` (raw bytes, not byte-level characters) to `ids`.
  void encode(std::string_view piece, std::vector<int64_t>& ids) const;

 private:
  struct Rule {
    int32_t rank;
    int64_t merged;
  };
  static uint64_t pair_key(int64_t left, int64_t right) {
    return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(right);
  }
  std::vector<int64_t> merge(std::string_view piece) const;

  int64_t byte_ids_[256];
  std::unordered_map<uint64_t, Rule> rules_;              // by the pair of ids (left << 32 | right)
  std::unordered_map<std::string, int64_t> whole_words_;  // with ignore_merges: the vocabulary, as bytes
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int64_t>> cache_;  // pieces already encoded
};

}  // namespace attention::detail
