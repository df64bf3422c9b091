#pragma once
// Pre-tokenization: text cut into the pieces that BPE encodes one by one, by the Split and ByteLevel steps of
// a tokenizer's files, with PCRE2's regular expressions and Unicode classes.

#include "tokenizer_files.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace attention::detail {

/// A regular expression compiled once by PCRE2 (UTF and Unicode classes: \p{L}, \p{N}, \s, \w as Unicode
/// defines them; JIT-compiled when PCRE2 has a JIT).
class Regex {
 public:
  /// c10::Error naming `where`, the pattern and PCRE2's message when it does not compile.
  Regex(const std::string& pattern, bool literal, const std::string& where);

  /// The [begin, end) byte ranges of the non-empty matches in `text` (valid UTF-8), left to right.
  std::vector<std::pair<size_t, size_t>> matches(std::string_view text) const;

 private:
  std::shared_ptr<pcre2_real_code_8> code_;
};

class PreTokenizer {
 public:
  explicit PreTokenizer(const std::vector<PreTokenizerStep>& steps);

  /// The pieces of `text` (valid UTF-8, without added tokens), as bytes, in order.
  std::vector<std::string> split(std::string_view text) const;

 private:
  // A Split step, or a ByteLevel step: its space before each piece, then GPT-2's regex (none without use_regex).
  struct Step {
    bool add_prefix_space;
    std::optional<Regex> regex;
    SplitBehavior behavior;
    bool invert;
  };
  std::vector<Step> steps_;
};

}  // namespace attention::detail
