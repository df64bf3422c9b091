#include "lm/utf8_stream.h"

#include <cstdint>

namespace attention::app {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

/// The bytes of a UTF-8 character that starts with `lead`: 1 to 4, or 0 when no character starts with it.
size_t sequence_length(uint8_t lead) {
  return lead < 0x80 ? 1 : lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
}

/// Whether `byte` may follow `lead` as the character's second byte (Unicode's table 3-7: no overlong forms, no
/// surrogates, nothing past U+10FFFF); the other continuation bytes are 0x80 to 0xBF.
bool second_byte_fits(uint8_t lead, uint8_t byte) {
  const uint8_t low = lead == 0xE0 ? 0xA0 : lead == 0xF0 ? 0x90 : 0x80;
  const uint8_t high = lead == 0xED ? 0x9F : lead == 0xF4 ? 0x8F : 0xBF;
  return byte >= low && byte <= high;
}

}  // namespace

std::string Utf8Stream::push(const std::string& bytes) {
  held_ += bytes;
  std::string text;
  size_t i = 0;
  while (i < held_.size()) {
    const auto lead = static_cast<uint8_t>(held_[i]);
    const auto length = sequence_length(lead);
    if (length == 0) {
      text += kReplacement;
      ++i;
      continue;
    }
    // The valid bytes of the character, up to its length or the end of what is held.
    size_t valid = 1;
    while (valid < length && i + valid < held_.size()) {
      const auto byte = static_cast<uint8_t>(held_[i + valid]);
      if (valid == 1 ? !second_byte_fits(lead, byte) : (byte < 0x80 || byte > 0xBF)) {
        break;
      }
      ++valid;
    }
    if (valid == length) {
      text.append(held_, i, length);
    } else if (i + valid == held_.size()) {
      break;  // incomplete so far: wait for the next bytes
    } else {
      text += kReplacement;  // cut short by a byte that cannot continue it
    }
    i += valid;
  }
  held_.erase(0, i);
  return text;
}

std::string Utf8Stream::finish() {
  const auto text = held_.empty() ? std::string() : kReplacement;
  held_.clear();
  return text;
}

std::string escaped_line(const std::string& text) {
  std::string line;
  for (const char c : text) {
    line += c == '\\' ? std::string("\\\\") : c == '\n' ? std::string("\\n") : c == '\r' ? "\\r" : std::string(1, c);
  }
  return line;
}

}  // namespace attention::app
