#pragma once
// `attention heatmap --pattern`: pictures of what attention patterns let each query see, without a trained
// model: causal masks, local and sliding windows, global tokens, and ALiBi's per-head recency bias.

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace attention::app {

enum class Pattern {
  Causal,  ///< each query sees itself and the keys before it
  Local,   ///< each query sees the keys at most `window` positions away, on both sides
  Window,  ///< a sliding window: causal, the last window + 1 keys
  Global,  ///< local, and the first token sees and is seen by every token (Longformer's global tokens)
  Alibi,   ///< causal, with ALiBi's slopes: each head prefers near keys, some more than others
};

/// The pattern called `name` (causal, local, window, global, alibi); throws std::invalid_argument naming the
/// patterns otherwise.
Pattern pattern_named(const std::string& name);

struct PatternOptions {
  Pattern pattern = Pattern::Causal;
  int64_t length = 16;  ///< tokens T, >= 1
  int64_t window = 3;   ///< of Local, Window and Global, >= 0
  int64_t heads = 4;    ///< of Alibi, >= 1
};

/// The pattern's attention weights `[H, T, T]` (H = heads for Alibi, 1 otherwise): the library's attention over
/// equal scores under the pattern's masks, so each row spreads evenly over what its query may see (ALiBi: by
/// distance). Throws std::invalid_argument for sizes out of range.
torch::Tensor pattern_weights(const PatternOptions& options);

/// Writes the pattern to `path` (PNG): one heatmap, or a grid of heads for Alibi, with token positions as labels.
void write_pattern_heatmap(const std::string& path, const PatternOptions& options);

}  // namespace attention::app
