#pragma once
// Added tokens (special or not) found in the raw text before pre-tokenization, as Hugging Face's
// AddedVocabulary finds them: the leftmost match, and the longest token of those that start there.

#include "tokenizer_files.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace attention::detail {

class AddedTokenFinder {
 public:
  explicit AddedTokenFinder(const std::vector<AddedToken>& tokens);

  /// A part of the text: an added token (`id` >= 0) or the text between them (`id` -1).
  struct Segment {
    std::string_view text;
    int64_t id;
  };

  /// `text` cut into added tokens and the text between them (never empty), in order.
  std::vector<Segment> split(std::string_view text) const;

 private:
  std::array<std::vector<std::pair<std::string, int64_t>>, 256> by_first_byte_;  // the longest first
};

}  // namespace attention::detail
