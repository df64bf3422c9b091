#pragma once
// Enums that travel by name (on the command line, in checkpoints and metrics.json): the enum of a name.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace attention::app {

/// The names as a list for a message: "simple, scaled or multihead".
std::string alternatives(const std::vector<std::string>& names);

/// The enum whose value is the index of `name` in `names` (the enum's names in order). Throws
/// std::invalid_argument "unknown `what` 'big' (expected simple, scaled or multihead)" when there is none.
template <typename Enum>
Enum enum_of_name(const std::vector<std::string>& names, const std::string& name, const std::string& what) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) {
      return static_cast<Enum>(i);
    }
  }
  throw std::invalid_argument("unknown " + what + " '" + name + "' (expected " + alternatives(names) + ")");
}

}  // namespace attention::app
