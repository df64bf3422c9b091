#pragma once
// The JSON reader of safetensors headers: nlohmann-json's parser, with the checks the format asks for beyond
// plain JSON. Internal: an object library built into the core library and linked by the tests; never installed,
// so nlohmann-json is needed to build the library, not to use it.

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace attention::detail {

/// The deepest nesting of arrays and objects that parse_json() reads.
constexpr size_t kMaxJsonDepth = 100;

/// The one JSON value (RFC 8259) of `text`, which may have whitespace around it; objects keep their members in
/// the order of the text. Anything else throws c10::Error "<where>: <what is wrong> at byte <n>", n counted from
/// the start of `text` plus `first_byte` (where `text` starts in its file):
///   * malformed JSON, bytes that are not UTF-8, lone surrogates (\uD800), control characters in strings:
///     nlohmann-json's description, n the byte at which its parser found the error (the text's length when the
///     text ends too soon);
///   * a UTF-8 byte order mark (which nlohmann-json would skip), or a NUL byte after the value (which it would
///     take for the end of the text): n that byte;
///   * a key twice in one object: n the key's opening quote;
///   * arrays and objects nested more than kMaxJsonDepth deep: n the bracket that opens the one too many.
nlohmann::ordered_json parse_json(std::string_view text, const std::string& where, uint64_t first_byte = 0);

}  // namespace attention::detail
