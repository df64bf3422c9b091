#pragma once
// GPT-2's byte-level alphabet: each of the 256 bytes written as one printable character, so that a vocabulary
// of strings can hold every byte ("Ġ" is the space, "Ċ" the newline). And the UTF-8 check of encoded text.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace attention::detail {

/// The character (UTF-8) that stands for each byte: bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for
/// themselves (as code points), the others for U+0100, U+0101, ... in byte order.
const std::array<std::string, 256>& byte_characters();

/// The bytes a token of the vocabulary stands for ("Ġthe" -> " the"). A token with a character outside the
/// alphabet stands for its own UTF-8 bytes, as Hugging Face's ByteLevel decoder has it.
std::string token_bytes(std::string_view token);

/// The offset of the first byte of `text` that does not belong to a well-formed UTF-8 character (overlong
/// forms, surrogates and code points past U+10FFFF are not), or std::string_view::npos when all do.
size_t invalid_utf8_offset(std::string_view text);

}  // namespace attention::detail
