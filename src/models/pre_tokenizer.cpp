// PreTokenizer: Hugging Face's Split (tokenizers/src/tokenizer/normalizer.rs, NormalizedString::split) and
// ByteLevel (pre_tokenizers/byte_level.rs) pre-tokenizers. The regular expressions are Oniguruma's there and
// PCRE2's here: the patterns of GPT-2, Llama 3 and Qwen2 mean the same in both.
#include "pre_tokenizer.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <pcre2.h>  // PCRE2_CODE_UNIT_WIDTH=8: src/models/CMakeLists.txt

#include <algorithm>
#include <variant>

namespace attention::detail {
namespace {

// GPT-2's pre-tokenizer (openai/gpt-2 encoder.py), also that of ByteLevel with use_regex.
constexpr const char* kGpt2Pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Part {
  size_t begin;
  size_t end;
  bool match;
};

// `text` from `begin` to `end` as parts that alternate between matches and the text between them.
std::vector<Part> parts(const Regex& regex, std::string_view text) {
  std::vector<Part> all;
  size_t previous = 0;
  for (const auto& [begin, end] : regex.matches(text)) {
    if (begin > previous) {
      all.push_back({previous, begin, false});
    }
    all.push_back({begin, end, true});
    previous = end;
  }
  if (previous < text.size()) {
    all.push_back({previous, text.size(), false});
  }
  return all;
}

// The ranges that a Split with `behavior` keeps of `all` (as Hugging Face's NormalizedString::split).
std::vector<std::pair<size_t, size_t>> kept(const std::vector<Part>& all, SplitBehavior behavior) {
  std::vector<std::pair<size_t, size_t>> ranges;
  switch (behavior) {
    case SplitBehavior::kRemoved:
      for (const auto& part : all) {
        if (!part.match) {
          ranges.emplace_back(part.begin, part.end);
        }
      }
      break;
    case SplitBehavior::kIsolated:
      for (const auto& part : all) {
        ranges.emplace_back(part.begin, part.end);
      }
      break;
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const auto& part : all) {
        if (part.match && !previous_match && !ranges.empty()) {
          ranges.back().second = part.end;
        } else {
          ranges.emplace_back(part.begin, part.end);
        }
        previous_match = part.match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool next_match = false;  // walked from the end
      for (auto part = all.rbegin(); part != all.rend(); ++part) {
        if (part->match && !next_match && !ranges.empty()) {
          ranges.back().first = part->begin;
        } else {
          ranges.emplace_back(part->begin, part->end);
        }
        next_match = part->match;
      }
      std::reverse(ranges.begin(), ranges.end());
      break;
    }
    case SplitBehavior::kContiguous:
      for (size_t i = 0; i < all.size(); ++i) {
        if (i > 0 && all[i].match == all[i - 1].match) {
          ranges.back().second = all[i].end;
        } else {
          ranges.emplace_back(all[i].begin, all[i].end);
        }
      }
      break;
  }
  return ranges;
}

}  // namespace

Regex::Regex(const std::string& pattern, bool literal, const std::string& where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  const uint32_t options = PCRE2_UTF | PCRE2_UCP | (literal ? PCRE2_LITERAL : 0);
  auto* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error, &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    C10_THROW_ERROR(Error, c10::str(where, ": the pattern ", pattern, " does not compile (PCRE2: ",
                                    reinterpret_cast<const char*>(message), " at byte ", offset, ")"));
  }
  code_.reset(code, pcre2_code_free);
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // when it fails (no JIT here), pcre2_match interprets
}

std::vector<std::pair<size_t, size_t>> Regex::matches(std::string_view text) const {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(code_.get(), nullptr), pcre2_match_data_free);
  TORCH_CHECK(data != nullptr, "PCRE2: out of memory");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::vector<std::pair<size_t, size_t>> found;
  size_t start = 0;
  while (start < text.size()) {
    // The text was checked: no UTF check again at every match.
    const int result = pcre2_match(code_.get(), subject, text.size(), start, PCRE2_NO_UTF_CHECK, data.get(), nullptr);
    if (result == PCRE2_ERROR_NOMATCH) {
      break;
    }
    if (result < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(result, message, sizeof message);
      C10_THROW_ERROR(Error,
                      c10::str("PCRE2 failed to match at byte ", start, ": ", reinterpret_cast<const char*>(message)));
    }
    const auto* range = pcre2_get_ovector_pointer(data.get());
    if (range[1] > range[0]) {
      found.emplace_back(range[0], range[1]);
      start = range[1];
    } else {  // an empty match: on to the next character
      start = range[0] + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
        ++start;
      }
    }
  }
  return found;
}

PreTokenizer::PreTokenizer(const std::vector<PreTokenizerStep>& steps) {
  for (const auto& step : steps) {
    if (const auto* split = std::get_if<SplitStep>(&step)) {
      steps_.push_back({false, Regex(split->pattern, split->literal, split->where), split->behavior, split->invert});
    } else {
      const auto& byte_level = std::get<ByteLevelStep>(step);
      std::optional<Regex> regex;
      if (byte_level.use_regex) {
        regex.emplace(kGpt2Pattern, false, "GPT-2's pre-tokenizer");
      }
      steps_.push_back({byte_level.add_prefix_space, std::move(regex), SplitBehavior::kIsolated, false});
    }
  }
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  if (text.empty()) {
    return {};
  }
  std::vector<std::string> pieces{std::string(text)};
  for (const auto& step : steps_) {
    std::vector<std::string> next;
    next.reserve(pieces.size());
    for (auto& piece : pieces) {
      if (step.add_prefix_space && piece.front() != ' ') {
        piece.insert(piece.begin(), ' ');
      }
      if (!step.regex) {
        next.push_back(std::move(piece));
        continue;
      }
      auto all = parts(*step.regex, piece);
      if (step.invert) {
        for (auto& part : all) {
          part.match = !part.match;
        }
      }
      for (const auto& [begin, end] : kept(all, step.behavior)) {
        next.push_back(piece.substr(begin, end - begin));
      }
    }
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace attention::detail
