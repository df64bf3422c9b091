#pragma once
// A strict JSON reader, enough for the header of a safetensors file. The library has its own, not a JSON
// library's, because the core library needs nothing but LibTorch. Internal: an object library built into the core
// library and linked by the tests; never installed, nothing of it exported.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attention::detail {

struct JsonMember;

/// A JSON value. An object keeps its members in the order of the text; their keys are unique.
struct JsonValue {
  enum class Kind { Null, Boolean, Number, String, Array, Object };

  Kind kind = Kind::Null;
  bool boolean = false;             // Boolean
  std::string text;                 // String: its characters, escapes decoded (UTF-8); Number: as written
  std::vector<JsonValue> items;     // Array
  std::vector<JsonMember> members;  // Object

  /// The value of member `key` of an object; nullptr when there is none or this is not an object.
  const JsonValue* find(std::string_view key) const;

  /// A number written as a non-negative integer (no sign, fraction or exponent) that fits 64 bits, or nothing.
  std::optional<uint64_t> unsigned_integer() const;

  /// Compact JSON text of the value (no whitespace, numbers as written), for messages.
  std::string dump() const;
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

/// The deepest nesting of arrays and objects that parse_json() reads.
constexpr int kMaxJsonDepth = 100;

/// The one JSON value (RFC 8259) of `text`, which may have whitespace around it. Anything else throws c10::Error
/// "<where>: <what is wrong> at byte <n>", n counted from the start of `text` plus `first_byte` (where `text`
/// starts in its file): malformed JSON, text after the value, bytes that are not UTF-8, lone surrogates
/// (\uD800), a key twice in one object, and arrays and objects nested more than kMaxJsonDepth deep.
JsonValue parse_json(std::string_view text, const std::string& where, uint64_t first_byte = 0);

}  // namespace attention::detail
