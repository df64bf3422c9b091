#pragma once
// What the commands of the `attention` program share: its exit codes, and the checks of command-line values.
//
// Exit codes: 0 success; 2 usage error, the command line itself is wrong (an unknown command or option, a
// missing or malformed value, values that do not fit together or with the run they resume); 1 failure,
// anything found wrong while running (a file that does not exist or cannot be read, bad data, a damaged
// checkpoint, an output that cannot be written, a diverging run); 130 interrupted (Ctrl-C, after saving).

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace attention::app {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells report it

/// A whole number >= 1, with a message that says so (CLI::PositiveNumber prints a range up to DBL_MAX).
extern const CLI::Validator kPositiveInteger;
/// A finite number > 0.
extern const CLI::Validator kPositiveNumber;

/// The words of a sentence given on the command line. CLI::ValidationError naming `option` when the text is
/// not UTF-8 (or has NUL bytes) or has more than kMaxWords words.
std::vector<std::string> words_of(const std::string& option, const std::string& text);

}  // namespace attention::app
