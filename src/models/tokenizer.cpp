// The public Tokenizer (attention/tokenizer.h): encode and decode over the tables of tokenizer_model.h.
#include <attention/tokenizer.h>

#include "byte_level.h"
#include "nfc.h"
#include "tokenizer_model.h"

#include <c10/util/Exception.h>

#include <utility>

namespace attention {

Tokenizer::Tokenizer(std::shared_ptr<const detail::TokenizerModel> model) : model_(std::move(model)) {
  TORCH_CHECK(model_ != nullptr, "Tokenizer: no model (use attention::load_tokenizer)");
}

std::vector<int64_t> Tokenizer::encode(const std::string& text) const {
  const auto invalid = detail::invalid_utf8_offset(text);
  TORCH_CHECK(invalid == std::string::npos, "Tokenizer::encode: the text is not valid UTF-8: byte 0x", std::hex,
              static_cast<int>(static_cast<unsigned char>(text[invalid])), std::dec, " at offset ", invalid,
              " does not begin a well-formed character");
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3);
  for (const auto& segment : model_->added_tokens.split(text)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    auto text = segment.text;
    std::string normalized;
    if (model_->nfc) {
      normalized = detail::to_nfc(text);
      text = normalized;
    }
    for (const auto& piece : model_->pre_tokenizer.split(text)) {
      model_->bpe.encode(piece, ids);
    }
  }
  return ids;
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto found = model_->tokens.find(ids[i]);
    TORCH_CHECK(found != model_->tokens.end(), "Tokenizer::decode: ids[", i, "] = ", ids[i], " is no token of this ",
                "tokenizer (ids below ", model_->vocab_size, ")");
    text += found->second.bytes;
  }
  return text;
}

int64_t Tokenizer::vocab_size() const { return model_->vocab_size; }

std::optional<int64_t> Tokenizer::token_to_id(const std::string& token) const {
  const auto found = model_->ids.find(token);
  return found == model_->ids.end() ? std::nullopt : std::optional<int64_t>(found->second);
}

std::string Tokenizer::id_to_token(int64_t id) const {
  const auto found = model_->tokens.find(id);
  TORCH_CHECK(found != model_->tokens.end(), "Tokenizer::id_to_token: ", id, " is no token of this tokenizer (ids ",
              "below ", model_->vocab_size, ")");
  return found->second.text;
}

std::optional<int64_t> Tokenizer::bos_id() const { return model_->bos; }

std::optional<int64_t> Tokenizer::eos_id() const { return model_->eos; }

Tokenizer load_tokenizer(const std::string& dir) {
  return Tokenizer(std::make_shared<const detail::TokenizerModel>(detail::read_tokenizer_files(dir)));
}

}  // namespace attention
