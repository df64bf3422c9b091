#pragma once
// `attention generate`: a model folder's continuation of a prompt, streamed as it is generated, or of every line
// of a file as one batch.

#include <attention/models.h>

#include <torch/types.h>

#include <ostream>
#include <string>

namespace attention::app {

struct GenerateSettings {
  std::string model_dir;
  std::string prompt;        ///< one prompt, streamed; or
  std::string prompts_file;  ///< one prompt a line, generated as one batch, a continuation a line
  GenerationOptions generation;
  torch::ScalarType dtype = torch::kFloat;
};

/// Generates and writes to `out`: the continuation of settings.prompt as it comes (only complete UTF-8, flushed
/// at each token, then a newline); or, with a prompts_file, each line's continuation on a line of its own, in
/// order, escaped as escaped_line() does. Throws OptionError (model_folder.h) when a prompt and
/// max_new_tokens pass the model's positions; c10::Error or std::runtime_error, naming the file, for the model's
/// folder and files and the prompts file (missing, unreadable, an empty line, not UTF-8).
void run_generate(const GenerateSettings& settings, std::ostream& out);

}  // namespace attention::app
