// Uses the installed models component: a tokenizer of the test data, one text there and back.
#include <attention/tokenizer.h>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer_models TOKENIZER_DIR\n";
    return 2;
  }
  const auto tokenizer = attention::load_tokenizer(argv[1]);
  const std::string text = "Hello world, café 😀";
  const auto ids = tokenizer.encode(text);
  if (ids.size() < 2 || ids[0] != 263 ||
      tokenizer.decode(ids) != text) {  // "Hello" is 263 in tests/data/tokenizers/gpt2
    std::cerr << "consumer_models: " << text << " gave " << ids.size() << " ids, not back the same text\n";
    return 1;
  }
  std::cout << "consumer_models: " << ids.size() << " tokens\n";
  return 0;
}
