// GPT-2's bytes_to_unicode() (openai/gpt-2, encoder.py) and its inverse, and the UTF-8 check.
#include "byte_level.h"

namespace attention::detail {
namespace {

// The UTF-8 bytes of code point `c` (below U+0800: the alphabet's characters all are).
std::string utf8_of(uint32_t c) {
  if (c < 0x80) {
    return std::string(1, static_cast<char>(c));
  }
  return {static_cast<char>(0xC0 | (c >> 6)), static_cast<char>(0x80 | (c & 0x3F))};
}

bool stands_for_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
}

// The byte each character of the alphabet stands for, by code point (all are below U+0144); -1 for the others.
const std::array<int, 0x144>& alphabet_bytes() {
  static const auto table = [] {
    std::array<int, 0x144> bytes{};
    bytes.fill(-1);
    uint32_t next = 0x100;
    for (int byte = 0; byte < 256; ++byte) {
      bytes[stands_for_itself(byte) ? byte : next++] = byte;
    }
    return bytes;
  }();
  return table;
}

}  // namespace

const std::array<std::string, 256>& byte_characters() {
  static const auto table = [] {
    std::array<std::string, 256> characters;
    uint32_t next = 0x100;
    for (int byte = 0; byte < 256; ++byte) {
      characters[byte] = utf8_of(stands_for_itself(byte) ? byte : next++);
    }
    return characters;
  }();
  return table;
}

std::string token_bytes(std::string_view token) {
  std::string bytes;
  bytes.reserve(token.size());
  for (size_t at = 0; at < token.size();) {
    const auto lead = static_cast<unsigned char>(token[at]);
    uint32_t c = lead;
    size_t length = 1;
    if (lead >= 0x80) {  // the alphabet's characters take one or two bytes
      if (lead < 0xC0 || lead >= 0xE0 || at + 1 >= token.size()) {
        return std::string(token);
      }
      c = ((lead & 0x1Fu) << 6) | (static_cast<unsigned char>(token[at + 1]) & 0x3Fu);
      length = 2;
    }
    if (c >= alphabet_bytes().size() || alphabet_bytes()[c] < 0) {
      return std::string(token);  // not written in the alphabet
    }
    bytes.push_back(static_cast<char>(alphabet_bytes()[c]));
    at += length;
  }
  return bytes;
}

size_t invalid_utf8_offset(std::string_view text) {
  const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
  size_t at = 0;
  while (at < text.size()) {
    const auto lead = byte(at);
    if (lead < 0x80) {
      ++at;
      continue;
    }
    // The length of the character and the range of its second byte (which rules out overlong forms,
    // surrogates and code points past U+10FFFF), as the Unicode standard's table 3-7.
    size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      low = lead == 0xE0 ? 0xA0 : 0x80;
      high = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      low = lead == 0xF0 ? 0x90 : 0x80;
      high = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return at;
    }
    for (size_t i = 1; i < length; ++i) {
      if (at + i >= text.size()) {
        return at;
      }
      const auto next = byte(at + i);
      if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xBF)) {
        return at;
      }
    }
    at += length;
  }
  return std::string_view::npos;
}

}  // namespace attention::detail
