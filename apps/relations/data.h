#pragma once
// The data of the relation task of `attention train`: sentences, a query word and the target word it relates to,
// from data files or generated; their split into training and held-out sets; the vocabulary.

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

/// Reads examples from a file of lines `sentence<TAB>query<TAB>target`; blank lines and lines starting with '#'
/// are skipped. The query is its first occurrence in the sentence, the target the first occurrence of the
/// target word other than the query. Throws std::runtime_error naming the file and line for a line with the
/// wrong number of fields, a query or target not in its sentence, text that is not UTF-8 (or has NUL bytes),
/// a sentence of more than kMaxWords (words.h) words, or a file that does not exist, cannot be read or has no
/// examples.
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
