#include "views/patterns.h"

#include <attention/attention.h>
#include <attention/pictures.h>

#include <torch/torch.h>

#include <stdexcept>
#include <vector>

namespace attention::app {
namespace {

struct NamedPattern {
  const char* name;
  Pattern pattern;
  const char* title;
};
constexpr NamedPattern kPatterns[] = {
    {"causal", Pattern::Causal, "causal: each token sees itself and the tokens before it"},
    {"local", Pattern::Local, "local: each token sees the tokens within the window, on both sides"},
    {"window", Pattern::Window, "sliding window: each token sees its last window + 1 tokens"},
    {"global", Pattern::Global, "local + global: token 0 sees and is seen by every token"},
    {"alibi", Pattern::Alibi, "ALiBi (causal): each head's attention falls with distance, at its own slope"},
};

const NamedPattern& named(Pattern pattern) {
  for (const auto& entry : kPatterns) {
    if (entry.pattern == pattern) {
      return entry;
    }
  }
  throw std::logic_error("unnamed attention pattern");
}

}  // namespace

Pattern pattern_named(const std::string& name) {
  std::string names;
  for (const auto& entry : kPatterns) {
    if (name == entry.name) {
      return entry.pattern;
    }
    names += names.empty() ? entry.name : std::string(", ") + entry.name;
  }
  throw std::invalid_argument("unknown pattern '" + name + "' (the patterns are " + names + ")");
}

torch::Tensor pattern_weights(const PatternOptions& options) {
  if (options.length < 1 || options.length > 2048 || options.window < 0 || options.heads < 1 || options.heads > 64) {
    throw std::invalid_argument("pattern sizes out of range: length " + std::to_string(options.length) +
                                " (1 to 2048), window " + std::to_string(options.window) + " (>= 0), heads " +
                                std::to_string(options.heads) + " (1 to 64)");
  }
  const auto T = options.length;
  const auto heads = options.pattern == Pattern::Alibi ? options.heads : 1;
  const auto zeros = torch::zeros({1, heads, T, 1});  // equal scores: the pattern alone shapes the weights
  auto attention = AttentionOptions();
  switch (options.pattern) {
    case Pattern::Causal:
      attention.causal(true);
      break;
    case Pattern::Local:
      attention.window(options.window);
      break;
    case Pattern::Window:
      attention.window(options.window).causal(true);
      break;
    case Pattern::Global: {
      auto allowed = local_mask(T, T, options.window);
      allowed.select(0, 0).fill_(true);
      allowed.select(1, 0).fill_(true);
      attention.mask(allowed);
      break;
    }
    case Pattern::Alibi:
      attention.causal(true).alibi_slopes(alibi_slopes(heads));
      break;
  }
  return attention::scaled_dot_product_attention(zeros, zeros, zeros, attention).weights.squeeze(0);  // [H, T, T]
}

void write_pattern_heatmap(const std::string& path, const PatternOptions& options) {
  const auto weights = pattern_weights(options);
  std::vector<std::string> positions;
  for (int64_t i = 0; i < options.length; ++i) {
    positions.push_back(std::to_string(i));
  }
  pictures::HeatmapOptions heatmap;
  heatmap.title = named(options.pattern).title;
  heatmap.rows = "query positions";
  heatmap.columns = "key positions";
  heatmap.note = "T = " + std::to_string(options.length) +
                 (options.pattern == Pattern::Alibi    ? ", " + std::to_string(options.heads) + " heads"
                  : options.pattern == Pattern::Causal ? std::string()
                                                       : ", window = " + std::to_string(options.window));
  if (weights.size(0) > 1) {
    pictures::write_head_grid(path, weights, positions, positions, heatmap);
  } else {
    pictures::write_attention_heatmap(path, weights[0], positions, positions, heatmap);
  }
}

}  // namespace attention::app
