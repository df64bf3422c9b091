#pragma once
// Text streamed token by token: a token's bytes may end inside a UTF-8 character (a tokenizer's decode of part of
// an encoding), so the bytes are held until their character is complete.

#include <string>

namespace attention::app {

/// Turns bytes, given in pieces, into complete UTF-8 text. Bytes that cannot be UTF-8 (an invalid byte, a
/// character cut short by the next one or by the end) become U+FFFD, one for each maximal invalid part, as
/// Unicode recommends; so the text of a stream is the same however it was cut into pieces.
class Utf8Stream {
 public:
  /// The text that `bytes`, after those before, completes; a character still incomplete at the end is held.
  std::string push(const std::string& bytes);
  /// The text of what is held (U+FFFD for a character cut short), and nothing held any more.
  std::string finish();

 private:
  std::string held_;
};

/// `text` on one line: a backslash as \\, a newline as \n, a carriage return as \r.
std::string escaped_line(const std::string& text);

}  // namespace attention::app
