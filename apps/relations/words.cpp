#include "relations/words.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace attention::app {
namespace {

/// The length of the UTF-8 sequence at `at` (1 to 4), or 0 when it is not valid UTF-8 (overlong forms,
/// surrogates and code points above U+10FFFF included).
size_t utf8_length(const std::string& text, size_t at) {
  const auto byte = [&](size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u; };
  const auto lead = byte(at);
  const auto continuation = [&](size_t i, unsigned low = 0x80, unsigned high = 0xBF) {
    return byte(i) >= low && byte(i) <= high;
  };
  if (lead < 0x80) {
    return 1;
  }
  if (lead >= 0xC2 && lead <= 0xDF) {
    return continuation(at + 1) ? 2 : 0;
  }
  if (lead >= 0xE0 && lead <= 0xEF) {
    const auto low = lead == 0xE0 ? 0xA0u : 0x80u, high = lead == 0xED ? 0x9Fu : 0xBFu;
    return continuation(at + 1, low, high) && continuation(at + 2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const auto low = lead == 0xF0 ? 0x90u : 0x80u, high = lead == 0xF4 ? 0x8Fu : 0xBFu;
    return continuation(at + 1, low, high) && continuation(at + 2) && continuation(at + 3) ? 4 : 0;
  }
  return 0;
}

std::string hex_byte(unsigned char byte) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

}  // namespace

std::vector<std::string> split_words(const std::string& sentence) {
  std::vector<std::string> words;
  std::istringstream stream(sentence);
  std::string word;
  const auto is_punct = [](unsigned char c) { return std::ispunct(c) != 0; };
  while (stream >> word) {
    const auto first = std::find_if_not(word.begin(), word.end(), is_punct);
    const auto last = std::find_if_not(word.rbegin(), word.rend(), is_punct).base();
    if (first >= last) {
      continue;
    }
    std::string clean(first, last);
    std::transform(clean.begin(), clean.end(), clean.begin(), [](unsigned char c) { return std::tolower(c); });
    words.push_back(clean);
  }
  return words;
}

std::string join_words(const std::vector<std::string>& words, size_t limit) {
  std::string text;
  for (const auto& word : words) {
    if (!text.empty() && text.size() + 1 + word.size() > limit) {
      return text + " ...";
    }
    text += (text.empty() ? "" : " ") + word;
  }
  return text;
}

std::string text_problem(const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    if (text[at] == '\0') {
      return "a NUL byte at column " + std::to_string(at + 1) + " (is it a binary file?)";
    }
    const auto length = utf8_length(text, at);
    if (length == 0) {
      return "byte " + hex_byte(static_cast<unsigned char>(text[at])) + " at column " + std::to_string(at + 1) +
             " is not valid UTF-8";
    }
    at += length;
  }
  return "";
}

std::string printable(const std::string& text, size_t limit) {
  std::string shown;
  size_t at = 0;
  for (; at < text.size() && at < limit;) {
    const auto byte = static_cast<unsigned char>(text[at]);
    const auto length = utf8_length(text, at);
    if (length == 0 || byte < 0x20 || byte == 0x7F) {
      shown += "\\x" + hex_byte(byte).substr(2);
      ++at;
    } else {
      shown.append(text, at, length);
      at += length;
    }
  }
  return at < text.size() ? shown + "..." : shown;
}

}  // namespace attention::app
