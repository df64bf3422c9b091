#pragma once
// Words of sentences, in data files and on the command line: splitting, joining, and the checks and escapes of
// text that comes from users.

#include <cstddef>
#include <string>
#include <vector>

namespace attention::app {

/// Splits a sentence into lower-cased words, stripping punctuation around each word ("Warm!" → "warm").
/// Bytes are compared as they are: only ASCII letters are lower-cased.
std::vector<std::string> split_words(const std::string& sentence);

/// The words joined by single spaces; past about `limit` characters, cut at a word boundary and ended by " ...".
std::string join_words(const std::vector<std::string>& words, size_t limit = std::string::npos);

/// The most words a sentence may have, in data files and on the command line. Training, predict and heatmap
/// hold a [T, T] matrix per sentence (and heatmap draws one): 256 words keep it to 65,536 weights, and the
/// heatmap to about 5,100 pixels across.
constexpr size_t kMaxWords = 256;

/// What makes `text` unusable as a sentence or word: "" when it is valid UTF-8 without NUL bytes, else e.g.
/// "byte 0xff at column 3 is not valid UTF-8".
std::string text_problem(const std::string& text);

/// `text` for an error message: invalid UTF-8 and control bytes as \xNN, cut after `limit` bytes.
std::string printable(const std::string& text, size_t limit = 60);

}  // namespace attention::app
