#pragma once
/// \file
/// The tokenizers of Hugging Face checkpoints: byte-level BPE as GPT-2, Llama 3 and Qwen2 use it. Part of
/// `Attention::models` (find_package(Attention COMPONENTS models)).
///
/// FILES, read from a model folder by load_tokenizer():
///   * `tokenizer.json` (the Hugging Face tokenizers format), preferred when present: a `"BPE"` model (`vocab`,
///     `merges` as "a b" strings or [a, b] pairs, `ignore_merges`), no normalizer or `NFC` (Qwen2, Qwen3: the
///     text between added tokens is normalized to Unicode NFC first, by ICU), the pre-tokenizer `ByteLevel`
///     (`add_prefix_space`, `use_regex`) or a `Sequence` of `Split` (a `Regex` or `String` pattern, a behavior:
///     Isolated, Removed, MergedWithPrevious, MergedWithNext or Contiguous, `invert`) ending with
///     `ByteLevel`, as Llama 3 and Qwen2 have; `added_tokens`; the decoder `ByteLevel`. The post-processor is
///     not applied: encode() adds no BOS or EOS (prepend bos_id() where the model wants it).
///   * else `vocab.json` + `merges.txt` (GPT-2's layout; a first line `#version...` is skipped), with GPT-2's
///     pre-tokenizer; `<|endoftext|>`, when in the vocabulary, is a special token.
///   * `tokenizer_config.json`, optional in both: `bos_token` and `eos_token` (a string, or an object with a
///     `content`). Without them, both are `<|endoftext|>` when the tokenizer has it.
/// Regular expressions run with PCRE2 and Unicode classes (`\p{L}`, `\p{N}`, `\s` as Unicode defines them).
///
/// ERRORS are c10::Error naming the file and what is wrong in it: a missing file, JSON that does not parse (at
/// byte N), a merge whose parts or result are not in the vocabulary (its line), a byte without its token, and
/// every setting this code does not implement (another model type, a normalizer other than NFC, another
/// pre-tokenizer or decoder, byte_fallback, dropout, added tokens with lstrip, rstrip or single_word).

#include <attention/models_export.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace attention {

namespace detail {
struct TokenizerModel;
}  // namespace detail

/// A byte-level BPE tokenizer: text (UTF-8) to token ids and back. Copies share the same (immutable) tables
/// and the cache of encoded words; encode() and decode() may be called from several threads at once.
class ATTENTION_MODELS_API Tokenizer {
 public:
  /// Made by load_tokenizer().
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerModel> model);

  /// The ids of `text`, which must be valid UTF-8 (else c10::Error naming the byte offset of the first invalid
  /// byte). Added tokens (special or not) are found in the raw text first, the longest at each place; the rest
  /// is normalized (NFC, when the tokenizer has it), split by the pre-tokenizer and each piece encoded by the
  /// merges. No BOS or EOS is added.
  ///
  /// Example (GPT-2): encode("Hello world") == {15496, 995}
  std::vector<int64_t> encode(const std::string& text) const;

  /// The text of `ids`: the bytes each token stands for, joined (an added token gives its content).
  /// decode(encode(text)) == text for any valid UTF-8 text (unless the pre-tokenizer has add_prefix_space,
  /// which puts a space before each piece; with NFC, for text in NFC: other text comes back in NFC). A part of an
  /// encoding may end inside a character: join the bytes of a stream before printing them. An id that is no token of
  /// this tokenizer is a c10::Error naming it.
  std::string decode(const std::vector<int64_t>& ids) const;

  /// One more than the largest id: the rows an embedding of these ids needs (the vocabulary and the added
  /// tokens; 50257 for GPT-2, 128256 for Llama 3).
  int64_t vocab_size() const;

  /// The id of `token` as the vocabulary writes it (byte-level: "Ġthe" for " the") or of an added token
  /// ("<|endoftext|>"); none when it is neither.
  std::optional<int64_t> token_to_id(const std::string& token) const;

  /// The token of `id` as the vocabulary writes it ("Ġthe"); c10::Error when `id` is no token.
  std::string id_to_token(int64_t id) const;

  /// The ids of the beginning- and end-of-sequence tokens, when the files name them (see FILES above).
  std::optional<int64_t> bos_id() const;
  std::optional<int64_t> eos_id() const;

 private:
  std::shared_ptr<const detail::TokenizerModel> model_;
};

/// The tokenizer of the Hugging Face model folder `dir` (see FILES above).
///
/// Example:
///   const auto tokenizer = attention::load_tokenizer("models/gpt2");
///   const auto ids = tokenizer.encode("Hello world");  // {15496, 995}
///   std::cout << tokenizer.decode(ids) << "\n";        // Hello world
ATTENTION_MODELS_API Tokenizer load_tokenizer(const std::string& dir);

}  // namespace attention
