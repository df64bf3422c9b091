#include "cli/command_line.h"

#include "relations/words.h"

#include <cmath>
#include <exception>

namespace attention::app {

const CLI::Validator kPositiveInteger(
    [](const std::string& text) {
      try {
        size_t used = 0;
        const auto value = std::stoll(text, &used);
        if (used == text.size() && value >= 1) {
          return std::string();
        }
      } catch (const std::exception&) {
      }
      return "must be a whole number >= 1, got '" + printable(text) + "'";
    },
    "INT>=1");

const CLI::Validator kPositiveNumber(
    [](const std::string& text) {
      try {
        size_t used = 0;
        const auto value = std::stod(text, &used);
        if (used == text.size() && std::isfinite(value) && value > 0) {
          return std::string();
        }
      } catch (const std::exception&) {
      }
      return "must be a finite number > 0, got '" + printable(text) + "'";
    },
    "NUMBER>0");

std::vector<std::string> words_of(const std::string& option, const std::string& text) {
  if (const auto problem = text_problem(text); !problem.empty()) {
    throw CLI::ValidationError(option, problem);
  }
  auto words = split_words(text);
  if (words.size() > kMaxWords) {
    throw CLI::ValidationError(
        option, "has " + std::to_string(words.size()) + " words, more than the limit of " + std::to_string(kMaxWords));
  }
  return words;
}

}  // namespace attention::app
