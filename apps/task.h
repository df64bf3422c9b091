#pragma once
// The relation task of `attention train`: sentences, a query word and the target word it relates to.

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace attention::app {

/// One example: "the cat sat on the mat because it is warm", query "warm" (index 9), target "mat" (index 5).
struct Example {
  std::vector<std::string> words;  ///< lower-cased, surrounding punctuation stripped
  int64_t query = 0;               ///< index of the query word in `words`
  int64_t target = 0;              ///< index of the target word in `words` (never == query)
  std::string relation;            ///< kind of relation, for reports ("property", "pronoun", ...; "file")
};

struct Split {
  std::vector<Example> train;
  std::vector<Example> test;
};

/// Splits a sentence into lower-cased words, stripping punctuation around each word ("Warm!" → "warm").
/// Bytes are compared as they are: only ASCII letters are lower-cased.
std::vector<std::string> split_words(const std::string& sentence);

/// The most words a sentence may have, in data files and on the command line. Training, predict and heatmap
/// hold a [T, T] matrix per sentence (and heatmap draws one): 256 words keep that to a fraction of a second.
constexpr size_t kMaxWords = 256;

/// What makes `text` unusable as a sentence or word: "" when it is valid UTF-8 without NUL bytes, else e.g.
/// "byte 0xff at column 3 is not valid UTF-8".
std::string text_problem(const std::string& text);

/// `text` for an error message: invalid UTF-8 and control bytes as \xNN, cut after `limit` bytes.
std::string printable(const std::string& text, size_t limit = 60);

/// Reads examples from a file of lines `sentence<TAB>query<TAB>target`; blank lines and lines starting with '#'
/// are skipped. The query is its first occurrence in the sentence, the target the first occurrence of the
/// target word other than the query. Throws std::runtime_error naming the file and line for a line with the
/// wrong number of fields, a query or target not in its sentence, text that is not UTF-8 (or has NUL bytes),
/// a sentence of more than kMaxWords words, or a file that cannot be read or has no examples.
std::vector<Example> read_examples(const std::string& path);
/// The same from a stream; `path` names it in messages.
std::vector<Example> read_examples(std::istream& input, const std::string& path);

/// The built-in task: sentences of several shapes and relation kinds (property → thing that has it,
/// pronoun → referent, verb → its object), deterministic for `seed`, split into train and held-out sets that
/// share the vocabulary but not the sentences.
Split generate_task(uint64_t seed, int64_t train_count = 480, int64_t test_count = 120);

/// A seeded split of `examples`: `test_fraction` of them (at least one) held out.
Split split_examples(std::vector<Example> examples, uint64_t seed, double test_fraction = 0.2);

/// Word ↔ id. Id 0 is the unknown word, for words never seen in training.
class Vocabulary {
 public:
  static constexpr int64_t kUnknown = 0;
  Vocabulary();
  explicit Vocabulary(const std::vector<std::string>& words_in_order);  ///< words_in_order[0] must be "<unk>"
  /// Adds the words of `examples`, in order of first appearance.
  void add(const std::vector<Example>& examples);
  int64_t id(const std::string& word) const;  ///< kUnknown for unseen words
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  const std::vector<std::string>& words() const { return words_; }

 private:
  std::vector<std::string> words_;
  std::map<std::string, int64_t> ids_;
};

}  // namespace attention::app
