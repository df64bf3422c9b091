#pragma once
// The step-by-step walk-through of attention printed by `attention explain`.

#include <ostream>
#include <string>
#include <vector>

namespace attention::app {

/// The sentence of "Build a Large Language Model (From Scratch)", ch. 3, whose 3-d embeddings the tutorial gives.
inline constexpr const char* kTutorialSentence = "Your journey starts with one step";

struct ExplainOptions {
  /// Words of the sentence; empty means kTutorialSentence with its 3-d embeddings. Any other sentence gets seeded
  /// random 3-d embeddings.
  std::vector<std::string> words;
  /// Index of the word whose attention is followed step by step.
  size_t query_index = 1;
  /// Seed of the random embeddings (other sentences) and of W_q, W_k, W_v. 789 reproduces the values printed
  /// in "Build a Large Language Model (From Scratch)", ch. 3.
  uint64_t seed = 789;
  /// Folder for the pictures of each step (created if missing); empty: no pictures.
  std::string out_dir;
};

/// Prints the walk-through: embeddings, scores, naive and stable softmax, context vectors, then the trainable
/// version with W_q, W_k, W_v and 1/sqrt(d_k). With an out_dir, also writes a picture of each step there, names
/// them last and returns their file names, in step order (none without an out_dir). Throws
/// std::invalid_argument on an empty sentence or a query index past its end, std::runtime_error (before
/// printing anything) when out_dir cannot be created, and when a picture cannot be written.
std::vector<std::string> explain(const ExplainOptions& options, std::ostream& out);

}  // namespace attention::app
