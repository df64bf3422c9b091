#pragma once
// What a Tokenizer holds: the tables built from its files, shared by its copies.

#include "added_tokens.h"
#include "bpe.h"
#include "pre_tokenizer.h"
#include "tokenizer_files.h"

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace attention::detail {

struct TokenizerModel {
  /// Built from `files` and checked: one id a token, one token an id (c10::Error naming the file, both tokens
  /// or both ids); the BOS and EOS tokens of the config are tokens.
  explicit TokenizerModel(const TokenizerFiles& files);

  AddedTokenFinder added_tokens;
  PreTokenizer pre_tokenizer;
  BytePairEncoding bpe;
  std::unordered_map<std::string, int64_t> ids;  // of the vocabulary's tokens and the added tokens
  struct Token {
    std::string text;   // as the vocabulary writes it ("Ġthe")
    std::string bytes;  // what decode writes (" the")
  };
  std::unordered_map<int64_t, Token> tokens;  // by id
  int64_t vocab_size = 0;                     // the largest id + 1
  bool nfc = false;                           // the text between added tokens is normalized to NFC first
  std::optional<int64_t> bos;
  std::optional<int64_t> eos;
};

}  // namespace attention::detail
