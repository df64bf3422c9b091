#pragma once
// What a model folder's tokenizer files say, read and checked as files: tokenizer.json, or vocab.json and
// merges.txt, and tokenizer_config.json. Building the tokenizer from it is tokenizer_model.cpp's job.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace attention::detail {

/// How a Split pre-tokenizer keeps the matches of its pattern (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

/// A Split pre-tokenizer: the text cut at the matches of `pattern` (a regular expression, or a plain string
/// when `literal`); `invert` cuts at what does not match instead.
struct SplitStep {
  std::string pattern;
  bool literal = false;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  std::string where;  // "<file>: pre_tokenizer.pretokenizers[0]", for errors
};

/// The ByteLevel pre-tokenizer: a space before each piece that has none (`add_prefix_space`), then, when
/// `use_regex`, the pieces cut by GPT-2's regular expression.
struct ByteLevelStep {
  bool add_prefix_space = false;
  bool use_regex = true;
};

using PreTokenizerStep = std::variant<SplitStep, ByteLevelStep>;

/// A token found in the raw text before pre-tokenization (special or not: both are found the same way).
struct AddedToken {
  std::string content;
  int64_t id = 0;
};

/// One merge rule, `left` + `right`, and where it was written (`index`: a line of merges.txt, counted from 1,
/// or a place in tokenizer.json's model.merges, from 0).
struct Merge {
  std::string left;
  std::string right;
  size_t index = 0;
};

struct TokenizerFiles {
  std::string vocab_file;                              // where `vocab` was read
  std::vector<std::pair<std::string, int64_t>> vocab;  // byte-level token, id
  std::string merges_file;                             // where `merges` were read
  bool merges_by_line = false;                         // merges.txt (lines) or tokenizer.json (model.merges[i])
  std::vector<Merge> merges;                           // by rank, the first applied first
  bool ignore_merges = false;                          // a word that is a token is that token, unmerged
  bool nfc = false;                                    // the normalizer: NFC (Qwen2, Qwen3), or none
  std::vector<PreTokenizerStep> pre_tokenizer;         // in order; the last is the ByteLevel step
  std::vector<AddedToken> added_tokens;
  // tokenizer_config.json, when the folder has one, and the tokens it names.
  std::string config_file;
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;

  /// "merges.txt line 7" or "tokenizer.json: model.merges[6]", for errors about `merge`.
  std::string where(const Merge& merge) const;
};

/// The tokenizer files of the model folder `dir`: tokenizer.json when it is there, else vocab.json and
/// merges.txt; then tokenizer_config.json when it is there. c10::Error naming the file and the problem.
TokenizerFiles read_tokenizer_files(const std::string& dir);

}  // namespace attention::detail
