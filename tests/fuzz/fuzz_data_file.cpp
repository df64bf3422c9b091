// libFuzzer target: the data-file reader and the tokenizer of `attention train` (apps/relations/data.h,
// apps/relations/words.h) on arbitrary bytes.
// They may reject the input only with std::runtime_error; what they accept must keep their promises.
#include "relations/data.h"
#include "relations/words.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::cerr << "fuzz_data_file: broken promise: " << what << "\n";
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace attention::app;
  const std::string text(reinterpret_cast<const char*>(data), size);

  for (const auto& word : split_words(text)) {
    check(!word.empty(), "split_words gives no empty word");
    check(word.find_first_of(" \t\n\v\f\r") == std::string::npos, "split_words gives words without spaces");
  }
  const auto shown = printable(text);
  check(text_problem(shown).empty(), "printable() gives valid UTF-8 without NUL bytes");

  try {
    std::istringstream stream(text);
    const auto examples = read_examples(stream, "fuzz.tsv");
    check(!examples.empty(), "read_examples returns examples or throws");
    for (const auto& example : examples) {
      const auto length = static_cast<int64_t>(example.words.size());
      check(example.words.size() <= kMaxWords, "at most kMaxWords words");
      check(example.query >= 0 && example.query < length, "query inside the sentence");
      check(example.target >= 0 && example.target < length, "target inside the sentence");
      check(example.query != example.target, "target is not the query");
      for (const auto& word : example.words) {
        check(text_problem(word).empty(), "words of accepted lines are valid UTF-8");
      }
    }
  } catch (const std::runtime_error&) {
    // A rejected file: the message names the problem; anything else (a crash, another exception) is a bug.
  }
  return 0;
}
