// parse_json: a recursive-descent reader of RFC 8259 JSON that refuses anything else with the byte offset. One
// file (about 450 lines): the grammar's productions call one another and share the reader's position.
#include "json_reader.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <limits>
#include <unordered_set>
#include <utility>

namespace attention::detail {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The value of hex digit `c`, or -1.
int hex_digit(char c) {
  if (is_digit(c)) {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

// A character that a JSON string holds as it is, in one byte: ASCII, not a control character, '"' or '\'.
bool is_plain(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte < 0x80 && c != '"' && c != '\\';
}

// "0x0a": a byte for messages.
std::string hex(unsigned char byte) {
  const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[byte >> 4] + digits[byte & 0xf];
}

// "'x'" for a printable ASCII character, "byte 0x0a" for any other byte.
std::string shown(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte < 0x7f ? std::string("'") + c + "'" : "byte " + hex(byte);
}

// The escapes of JSON other than \uXXXX: the letter after the backslash, and the character it stands for.
constexpr std::string_view kEscapeLetters = "\"\\/bfnrt";
constexpr std::string_view kEscapedCharacters = "\"\\/\b\f\n\r\t";

// `text` as a JSON string: in quotes, with quotes, backslashes and control characters escaped.
void append_quoted(std::string& out, const std::string& text) {
  out += '"';
  for (const char c : text) {
    const auto escaped = kEscapedCharacters.find(c);
    if (c != '/' && escaped != std::string_view::npos) {
      out += '\\';
      out += kEscapeLetters[escaped];
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\u00" + hex(static_cast<unsigned char>(c)).substr(2);
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_json(std::string& out, const JsonValue& value) {
  switch (value.kind) {
    case JsonValue::Kind::Null:
      out += "null";
      break;
    case JsonValue::Kind::Boolean:
      out += value.boolean ? "true" : "false";
      break;
    case JsonValue::Kind::Number:
      out += value.text;
      break;
    case JsonValue::Kind::String:
      append_quoted(out, value.text);
      break;
    case JsonValue::Kind::Array:
      out += '[';
      for (size_t i = 0; i < value.items.size(); ++i) {
        out += i == 0 ? "" : ",";
        append_json(out, value.items[i]);
      }
      out += ']';
      break;
    case JsonValue::Kind::Object:
      out += '{';
      for (size_t i = 0; i < value.members.size(); ++i) {
        out += i == 0 ? "" : ",";
        append_quoted(out, value.members[i].key);
        out += ':';
        append_json(out, value.members[i].value);
      }
      out += '}';
      break;
  }
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& where, uint64_t first_byte)
      : text_(text), where_(where), first_byte_(first_byte) {}

  JsonValue document() {
    auto value = parse_value(0);
    skip_whitespace();
    if (pos_ < text_.size()) {
      fail("unexpected " + found() + " after the JSON value", pos_);
    }
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& problem, size_t at) const {
    C10_THROW_ERROR(Error, c10::str(where_, ": ", problem, " at byte ", first_byte_ + at));
  }

  // What is at the current byte, for messages.
  std::string found() const {
    if (pos_ >= text_.size()) {
      return "the end of the text (truncated?)";
    }
    return shown(text_[pos_]);
  }

  [[noreturn]] void expected(const std::string& what) const { fail("expected " + what + ", found " + found(), pos_); }

  bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  bool at_digit() const { return pos_ < text_.size() && is_digit(text_[pos_]); }

  void skip_whitespace() {
    while (at(' ') || at('\t') || at('\n') || at('\r')) {
      ++pos_;
    }
  }

  JsonValue parse_value(int depth) {
    skip_whitespace();
    JsonValue value;
    if (at('{') || at('[')) {
      if (depth == kMaxJsonDepth) {
        fail(c10::str("arrays and objects nested more than ", kMaxJsonDepth, " deep"), pos_);
      }
      if (at('{')) {
        parse_object(value, depth + 1);
      } else {
        parse_array(value, depth + 1);
      }
    } else if (at('"')) {
      value.kind = JsonValue::Kind::String;
      value.text = parse_string();
    } else if (at('t') || at('f')) {
      value.kind = JsonValue::Kind::Boolean;
      value.boolean = at('t');
      parse_literal(value.boolean ? "true" : "false");
    } else if (at('n')) {
      parse_literal("null");
    } else if (at('-') || at_digit()) {
      parse_number(value);
    } else {
      expected("a value");
    }
    return value;
  }

  void parse_object(JsonValue& object, int depth) {
    object.kind = JsonValue::Kind::Object;
    ++pos_;  // '{'
    skip_whitespace();
    if (at('}')) {
      ++pos_;
      return;
    }
    std::unordered_set<std::string> keys;
    while (true) {
      skip_whitespace();
      if (!at('"')) {
        expected("a string (a key)");
      }
      const size_t key_start = pos_;
      auto key = parse_string();
      if (!keys.insert(key).second) {
        std::string quoted;
        append_quoted(quoted, key);
        fail("duplicate key " + quoted + " (a key may appear once in an object)", key_start);
      }
      skip_whitespace();
      if (!at(':')) {
        expected("':' after the key");
      }
      ++pos_;
      auto value = parse_value(depth);
      object.members.push_back({std::move(key), std::move(value)});
      skip_whitespace();
      if (!at(',') && !at('}')) {
        expected("',' or '}'");
      }
      if (text_[pos_++] == '}') {
        return;
      }
    }
  }

  void parse_array(JsonValue& array, int depth) {
    array.kind = JsonValue::Kind::Array;
    ++pos_;  // '['
    skip_whitespace();
    if (at(']')) {
      ++pos_;
      return;
    }
    while (true) {
      array.items.push_back(parse_value(depth));
      skip_whitespace();
      if (!at(',') && !at(']')) {
        expected("',' or ']'");
      }
      if (text_[pos_++] == ']') {
        return;
      }
    }
  }

  void parse_literal(const char* word) {
    const std::string_view expected_word(word);
    if (text_.substr(pos_, expected_word.size()) != expected_word) {
      fail(c10::str("expected the word ", word), pos_);
    }
    pos_ += expected_word.size();
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, kept as written.
  void parse_number(JsonValue& number) {
    const size_t start = pos_;
    if (at('-')) {
      ++pos_;
    }
    if (!at_digit()) {
      expected("a digit after '-'");
    }
    if (at('0')) {
      ++pos_;
      if (at_digit()) {
        fail("a number with a leading zero", start);
      }
    }
    while (at_digit()) {
      ++pos_;
    }
    if (at('.')) {
      ++pos_;
      if (!at_digit()) {
        expected("a digit after the decimal point");
      }
      while (at_digit()) {
        ++pos_;
      }
    }
    if (at('e') || at('E')) {
      ++pos_;
      if (at('+') || at('-')) {
        ++pos_;
      }
      if (!at_digit()) {
        expected("a digit in the exponent");
      }
      while (at_digit()) {
        ++pos_;
      }
    }
    number.kind = JsonValue::Kind::Number;
    number.text = std::string(text_.substr(start, pos_ - start));
  }

  // The characters of the string that starts at the current '"', escapes decoded; after it, the byte after its
  // closing '"'.
  std::string parse_string() {
    const size_t start = pos_++;
    std::string out;
    while (true) {
      size_t plain = pos_;  // a run of ASCII without control characters, '"' or '\'
      while (plain < text_.size() && is_plain(text_[plain])) {
        ++plain;
      }
      out.append(text_.substr(pos_, plain - pos_));
      pos_ = plain;
      if (pos_ >= text_.size()) {
        fail("a string that never ends (truncated?)", start);
      }
      const auto byte = static_cast<unsigned char>(text_[pos_]);
      if (byte == '"') {
        ++pos_;
        return out;
      }
      if (byte == '\\') {
        parse_escape(out, start);
      } else if (byte < 0x20) {
        fail("control character " + hex(byte) + " in a string (it must be written as an escape)", pos_);
      } else {
        parse_utf8(out);
      }
    }
  }

  // The escape at the current '\' of the string that starts at `start`.
  void parse_escape(std::string& out, size_t start) {
    const size_t escape = pos_;
    if (pos_ + 1 >= text_.size()) {
      fail("a string that never ends (truncated?)", start);
    }
    const char c = text_[pos_ + 1];
    pos_ += 2;
    const auto letter = kEscapeLetters.find(c);
    if (c == 'u') {
      parse_unicode_escape(out, escape);
    } else if (letter != std::string_view::npos) {
      out += kEscapedCharacters[letter];
    } else {
      fail("invalid escape: " + shown(c) + " after '\\'", escape);
    }
  }

  // The 4 hex digits after the "\u" at `escape`.
  uint32_t parse_hex4(size_t escape) {
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i, ++pos_) {
      const int digit = pos_ < text_.size() ? hex_digit(text_[pos_]) : -1;
      if (digit < 0) {
        fail("a \\u escape needs 4 hex digits", escape);
      }
      code = code * 16 + static_cast<uint32_t>(digit);
    }
    return code;
  }

  // \uXXXX after the '\' at `escape`, and the low surrogate of a pair; as UTF-8.
  void parse_unicode_escape(std::string& out, size_t escape) {
    uint32_t code = parse_hex4(escape);
    const auto as_written = std::string(text_.substr(escape, 6));
    if (code >= 0xdc00 && code <= 0xdfff) {
      fail("lone surrogate " + as_written + " (a low surrogate must follow a high one, \\uD800-\\uDBFF)", escape);
    }
    if (code >= 0xd800 && code <= 0xdbff) {
      const size_t low_escape = pos_;
      if (!(at('\\') && pos_ + 1 < text_.size() && text_[pos_ + 1] == 'u')) {
        fail("lone surrogate " + as_written + " (a high surrogate must have a low one after it, \\uDC00-\\uDFFF)",
             escape);
      }
      pos_ += 2;
      const uint32_t low = parse_hex4(low_escape);
      if (low < 0xdc00 || low > 0xdfff) {
        fail("lone surrogate " + as_written + " (a high surrogate must have a low one after it, \\uDC00-\\uDFFF)",
             escape);
      }
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xc0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xe0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (code & 0x3f));
    }
  }

  // The UTF-8 sequence at the current byte (not ASCII) of a string: well-formed (RFC 3629: no overlong forms,
  // no surrogates, nothing above U+10FFFF), or an error.
  void parse_utf8(std::string& out) {
    const auto lead = static_cast<unsigned char>(text_[pos_]);
    size_t length = 0;
    unsigned char low = 0x80, high = 0xbf;  // the range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      low = lead == 0xe0 ? 0xa0 : low;
      high = lead == 0xed ? 0x9f : high;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      low = lead == 0xf0 ? 0x90 : low;
      high = lead == 0xf4 ? 0x8f : high;
    }
    for (size_t i = 1; length > 0 && i < length; ++i) {
      const auto next = pos_ + i < text_.size() ? static_cast<unsigned char>(text_[pos_ + i]) : 0;
      if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xbf)) {
        length = 0;
      }
    }
    if (length == 0) {
      fail("a string that is not UTF-8 (byte " + hex(lead) + ")", pos_);
    }
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }

  std::string_view text_;
  const std::string& where_;
  uint64_t first_byte_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& member : members) {
    if (member.key == key) {
      return &member.value;
    }
  }
  return nullptr;
}

std::optional<uint64_t> JsonValue::unsigned_integer() const {
  if (kind != Kind::Number || text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (const char c : text) {
    if (!is_digit(c)) {
      return std::nullopt;  // a sign, a fraction or an exponent
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

std::string JsonValue::dump() const {
  std::string out;
  append_json(out, *this);
  return out;
}

JsonValue parse_json(std::string_view text, const std::string& where, uint64_t first_byte) {
  return Parser(text, where, first_byte).document();
}

}  // namespace attention::detail
