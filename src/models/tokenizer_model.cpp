// TokenizerModel: the id tables of a tokenizer, and its BOS and EOS.
#include "tokenizer_model.h"

#include "byte_level.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <utility>

namespace attention::detail {
namespace {

// Records that `token` has `id`, refusing a token with two ids or an id with two tokens.
void add_token(TokenizerModel& model, const std::string& token, int64_t id, std::string bytes,
               const std::string& file) {
  const auto [by_text, new_text] = model.ids.emplace(token, id);
  TORCH_CHECK(by_text->second == id, file, ": the token \"", token, "\" has two ids, ", by_text->second, " and ", id);
  const auto [by_id, new_id] = model.tokens.emplace(id, TokenizerModel::Token{token, std::move(bytes)});
  TORCH_CHECK(by_id->second.text == token, file, ": the id ", id, " has two tokens, \"", by_id->second.text,
              "\" and \"", token, "\"");
  model.vocab_size = std::max(model.vocab_size, id + 1);
}

// The id of the BOS or EOS token `token`, named in `file`.
int64_t special_id(const TokenizerModel& model, const std::string& token, const std::string& file, const char* key) {
  const auto found = model.ids.find(token);
  TORCH_CHECK(found != model.ids.end(), file, ": ", key, " \"", token, "\" is not a token of the tokenizer");
  return found->second;
}

}  // namespace

TokenizerModel::TokenizerModel(const TokenizerFiles& files)
    : added_tokens(files.added_tokens), pre_tokenizer(files.pre_tokenizer), bpe(files), nfc(files.nfc) {
  ids.reserve(files.vocab.size() + files.added_tokens.size());
  tokens.reserve(files.vocab.size() + files.added_tokens.size());
  for (const auto& [token, id] : files.vocab) {
    add_token(*this, token, id, token_bytes(token), files.vocab_file);
  }
  for (const auto& token : files.added_tokens) {
    add_token(*this, token.content, token.id, token.content, files.vocab_file);  // an added token is its text
  }
  // GPT-2 names neither: its one special token is both.
  const auto endoftext = ids.find("<|endoftext|>");
  if (files.bos_token) {
    bos = special_id(*this, *files.bos_token, files.config_file, "bos_token");
  } else if (endoftext != ids.end()) {
    bos = endoftext->second;
  }
  if (files.eos_token) {
    eos = special_id(*this, *files.eos_token, files.config_file, "eos_token");
  } else if (endoftext != ids.end()) {
    eos = endoftext->second;
  }
}

}  // namespace attention::detail
