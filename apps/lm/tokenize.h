#pragma once
// `attention tokenize`: the token ids of a text, with a model folder's tokenizer alone.

#include <ostream>
#include <string>

namespace attention::app {

/// Writes the ids of `text` by the tokenizer in `dir` (tokenizer.json, or vocab.json and merges.txt; the
/// model's weights are not read) to `out`, space-separated on one line. No BOS is added: `generate` and
/// `heatmap --model` prepend it (model_folder.h). Throws c10::Error naming the folder or file, or the offset of
/// a byte that is not UTF-8.
void run_tokenize(const std::string& dir, const std::string& text, std::ostream& out);

}  // namespace attention::app
