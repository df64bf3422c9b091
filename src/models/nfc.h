#pragma once
// Unicode Normalization Form C (canonical composition), the normalizer of Qwen2's and Qwen3's tokenizer.json.

#include <string>
#include <string_view>

namespace attention::detail {

/// `text` (valid UTF-8) in NFC, by ICU: "e" + U+0301 (combining acute) becomes "é" (U+00E9). Text already in
/// NFC, as almost all text is, comes back unchanged.
std::string to_nfc(std::string_view text);

}  // namespace attention::detail
