#include "lm/tokenize.h"

#include <attention/tokenizer.h>

namespace attention::app {

void run_tokenize(const std::string& dir, const std::string& text, std::ostream& out) {
  const auto ids = load_tokenizer(dir).encode(text);
  for (size_t i = 0; i < ids.size(); ++i) {
    out << (i > 0 ? " " : "") << ids[i];
  }
  out << "\n";
}

}  // namespace attention::app
