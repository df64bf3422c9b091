#include "relations/data.h"

#include "relations/words.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace attention::app {
namespace {

std::runtime_error line_error(const std::string& path, int64_t line, const std::string& problem) {
  return std::runtime_error(path + ":" + std::to_string(line) + ": " + problem);
}

int64_t index_of(const std::vector<std::string>& words, const std::string& word, int64_t skip = -1) {
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == word && static_cast<int64_t>(i) != skip) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

/// A relation kind of the built-in task: sentence templates whose slots are filled from word categories.
/// In a template, "{q}" is the query word, "{t}" the target and "{d}", "{e}" distractor nouns.
struct Relation {
  std::string name;
  std::vector<std::string> templates;
  /// Each pairing: the query words and the category the target comes from.
  std::vector<std::pair<std::vector<std::string>, std::string>> pairings;
  /// Categories of the "{d}" nouns (less the target's own); "{e}" nouns are furniture.
  std::vector<std::string> distractors;
};

const std::map<std::string, std::vector<std::string>>& categories() {
  static const std::map<std::string, std::vector<std::string>> words = {
      {"animal", {"cat", "dog", "bird", "horse", "rabbit", "fox", "mouse", "goat"}},
      {"furniture", {"mat", "rug", "sofa", "bed", "chair", "bench", "blanket", "carpet"}},
      {"food", {"soup", "bread", "cake", "apple", "pie", "rice", "cheese", "pasta"}},
      {"male", {"boy", "man", "king", "prince", "father", "brother", "uncle", "wizard"}},
      {"female", {"girl", "woman", "queen", "princess", "mother", "sister", "aunt", "witch"}},
  };
  return words;
}

const std::vector<Relation>& relations() {
  static const std::vector<Relation> all = {
      {"property",
       {"the {d} sat on the {t} because it was {q}", "on the {t} the {d} slept since it was {q}",
        "the {t} near the {d} was {q}", "yesterday the {d} found the {t} and it was {q}",
        "the {d} and the {t} were there but only one was {q}"},
       {{{"warm", "soft", "comfortable", "clean"}, "furniture"},
        {{"hungry", "sleepy", "playful", "frightened"}, "animal"},
        {{"tasty", "fresh", "delicious", "sweet"}, "food"}},
       {"animal", "furniture", "food"}},
      {"pronoun",
       {"the {d} thanked the {t} because {q} helped", "when {q} arrived the {t} greeted the {d}",
        "the {t} called the {d} but {q} was busy", "after the {d} left the {t} said {q} was tired"},
       {{{"she"}, "female"}, {{"he"}, "male"}},
       {"male", "female"}},
      {"verb",
       {"the {d} {q} the {t} on the {e}", "in the morning the {d} {q} the {t}", "the {t} was what the {d} {q} today"},
       {{{"ate", "tasted", "cooked", "baked"}, "food"}, {{"chased", "fed", "petted", "groomed"}, "animal"}},
       {"male", "female"}},
  };
  return all;
}

template <typename T>
const T& pick(const std::vector<T>& options, std::mt19937_64& rng) {
  return options[std::uniform_int_distribution<size_t>(0, options.size() - 1)(rng)];
}

/// Fills one template; distractors come from categories other than the target's, so the answer is unique.
Example fill(const Relation& relation, std::mt19937_64& rng) {
  const auto& pairing = pick(relation.pairings, rng);
  const auto& sentence_template = pick(relation.templates, rng);
  const std::string query = pick(pairing.first, rng);
  const std::string target = pick(categories().at(pairing.second), rng);
  std::vector<std::string> other_categories;
  std::copy_if(relation.distractors.begin(), relation.distractors.end(), std::back_inserter(other_categories),
               [&](const std::string& category) { return category != pairing.second; });
  std::vector<std::string> words;
  std::istringstream stream(sentence_template);
  std::string token;
  std::set<std::string> used = {query, target};
  while (stream >> token) {
    if (token == "{q}") {
      words.push_back(query);
    } else if (token == "{t}") {
      words.push_back(target);
    } else if (token == "{d}" || token == "{e}") {
      std::string noun;
      do {
        const auto& category = token == "{e}" ? std::string("furniture") : pick(other_categories, rng);
        noun = pick(categories().at(category), rng);
      } while (used.count(noun) != 0);
      used.insert(noun);
      words.push_back(noun);
    } else {
      words.push_back(token);
    }
  }
  Example example{words, index_of(words, query), index_of(words, target), relation.name};
  return example;
}

}  // namespace

std::vector<Example> read_examples(const std::string& path) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    throw std::runtime_error(path + ": no such data file");
  }
  if (std::filesystem::is_directory(status)) {
    throw std::runtime_error(path + ": a folder, not a data file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    throw std::runtime_error(path + ": cannot open the data file");
  }
  return read_examples(file, path);
}

std::vector<Example> read_examples(std::istream& file, const std::string& path) {
  std::vector<Example> examples;
  std::string line;
  int64_t number = 0;
  while (std::getline(file, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') {
      continue;
    }
    if (const auto problem = text_problem(line); !problem.empty()) {
      throw line_error(path, number, problem + "; data files must be UTF-8 text");
    }
    std::vector<std::string> fields;
    std::istringstream stream(line);
    std::string field;
    while (std::getline(stream, field, '\t')) {
      fields.push_back(field);
    }
    if (fields.size() != 3) {
      throw line_error(
          path, number,
          "expected 3 tab-separated fields (sentence, query, target), found " + std::to_string(fields.size()));
    }
    Example example;
    example.words = split_words(fields[0]);
    example.relation = "file";
    if (example.words.size() > kMaxWords) {
      throw line_error(path, number,
                       "the sentence has " + std::to_string(example.words.size()) + " words, more than the limit of " +
                           std::to_string(kMaxWords));
    }
    const auto query = split_words(fields[1]), target = split_words(fields[2]);
    if (query.size() != 1 || target.size() != 1) {
      throw line_error(path, number,
                       "query and target must be single words, got '" + printable(fields[1]) + "' and '" +
                           printable(fields[2]) + "'");
    }
    example.query = index_of(example.words, query[0]);
    if (example.query < 0) {
      throw line_error(path, number, "query '" + printable(query[0]) + "' is not a word of the sentence");
    }
    example.target = index_of(example.words, target[0], example.query);
    if (example.target < 0) {
      throw line_error(path, number,
                       "target '" + printable(target[0]) + "' is not a word of the sentence (other than the query)");
    }
    examples.push_back(std::move(example));
  }
  if (file.bad()) {
    throw std::runtime_error(path + ": read error");
  }
  if (examples.empty()) {
    throw std::runtime_error(path + ": no examples (lines of sentence<TAB>query<TAB>target)");
  }
  return examples;
}

Split generate_task(uint64_t seed, int64_t train_count, int64_t test_count) {
  std::mt19937_64 rng(seed);
  std::set<std::string> sentences;
  std::set<std::pair<std::string, std::string>> trained_pairs;  // (query word, target word) seen in training
  Split split;
  // Held-out sentences are new, but their (query, target) pairs occur in training: with fixed embeddings the
  // model can only learn relations between words it has seen related.
  const auto fill_until = [&](std::vector<Example>& examples, int64_t count, bool held_out) {
    const auto wanted = static_cast<size_t>(count);
    for (size_t attempt = 0; examples.size() < wanted; ++attempt) {
      if (attempt > wanted * 1000) {
        throw std::runtime_error("generate_task: cannot make " + std::to_string(wanted) + " distinct sentences");
      }
      const auto& relation = relations()[examples.size() % relations().size()];
      auto example = fill(relation, rng);
      const std::pair<std::string, std::string> pair{example.words[example.query], example.words[example.target]};
      if ((held_out && trained_pairs.count(pair) == 0) || !sentences.insert(join_words(example.words)).second) {
        continue;
      }
      if (!held_out) {
        trained_pairs.insert(pair);
      }
      examples.push_back(std::move(example));
    }
  };
  fill_until(split.train, train_count, false);
  fill_until(split.test, test_count, true);
  return split;
}

Split split_examples(std::vector<Example> examples, uint64_t seed, double test_fraction) {
  if (examples.size() < 2) {
    throw std::runtime_error("need at least 2 examples to hold some out for testing, got " +
                             std::to_string(examples.size()));
  }
  std::mt19937_64 rng(seed);
  std::shuffle(examples.begin(), examples.end(), rng);
  const auto test_count =
      std::clamp<size_t>(static_cast<size_t>(examples.size() * test_fraction), 1, examples.size() - 1);
  Split split;
  split.test.assign(examples.begin(), examples.begin() + test_count);
  split.train.assign(examples.begin() + test_count, examples.end());
  return split;
}

Vocabulary::Vocabulary() : Vocabulary(std::vector<std::string>{"<unk>"}) {}

Vocabulary::Vocabulary(const std::vector<std::string>& words_in_order) {
  if (words_in_order.empty() || words_in_order.front() != "<unk>") {
    throw std::runtime_error("vocabulary must start with <unk>");
  }
  for (const auto& word : words_in_order) {
    if (!ids_.emplace(word, static_cast<int64_t>(words_.size())).second) {
      throw std::runtime_error("vocabulary lists '" + word + "' twice");
    }
    words_.push_back(word);
  }
}

void Vocabulary::add(const std::vector<Example>& examples) {
  for (const auto& example : examples) {
    for (const auto& word : example.words) {
      if (ids_.emplace(word, static_cast<int64_t>(words_.size())).second) {
        words_.push_back(word);
      }
    }
  }
}

int64_t Vocabulary::id(const std::string& word) const {
  const auto found = ids_.find(word);
  return found == ids_.end() ? kUnknown : found->second;
}

}  // namespace attention::app