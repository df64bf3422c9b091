#include "lm/generate.h"

#include "lm/model_folder.h"
#include "lm/utf8_stream.h"

#include <c10/util/Exception.h>

#include <fstream>
#include <iostream>
#include <vector>

namespace attention::app {
namespace {

/// The lines of `path`, a prompt each (a final newline ends the last; a carriage return before a newline is
/// dropped). c10::Error naming the file and the line for a missing or unreadable file, no lines, an empty line.
std::vector<std::string> prompt_lines(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  TORCH_CHECK(file, path, ": cannot read the prompts file");
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    TORCH_CHECK(!line.empty(), path, ":", lines.size() + 1, ": an empty line (one prompt a line)");
    lines.push_back(line);
  }
  TORCH_CHECK(!file.bad(), path, ": cannot read the prompts file");
  TORCH_CHECK(!lines.empty(), path, ": no prompts (one prompt a line)");
  return lines;
}

/// The ids of every prompt; c10::Error naming `where` (and the line of a file) when one is not UTF-8 or has no
/// tokens, OptionError when one and the new tokens pass the model's positions.
std::vector<std::vector<int64_t>> prompt_ids_of(const LanguageModel& lm, const std::vector<std::string>& prompts,
                                                const GenerateSettings& settings) {
  std::vector<std::vector<int64_t>> all;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const auto where =
        settings.prompts_file.empty() ? std::string("--prompt") : settings.prompts_file + ":" + std::to_string(i + 1);
    try {
      all.push_back(prompt_ids(lm, prompts[i]));
    } catch (const c10::Error& error) {
      C10_THROW_ERROR(Error, c10::str(where, ": ", error.what_without_backtrace()));
    }
    TORCH_CHECK(!all.back().empty(), where, ": no tokens");
    const auto length = static_cast<int64_t>(all.back().size());
    const auto positions = lm.model.config().max_positions;
    if (positions > 0 && length + settings.generation.max_new_tokens() > positions) {
      throw OptionError("--max-new-tokens", where + " has " + std::to_string(length) + " tokens: with " +
                                                std::to_string(settings.generation.max_new_tokens()) +
                                                " new ones they pass the model's " + std::to_string(positions) +
                                                " positions (max_position_embeddings)");
    }
  }
  return all;
}

}  // namespace

void run_generate(const GenerateSettings& settings, std::ostream& out) {
  const auto prompts =
      settings.prompts_file.empty() ? std::vector<std::string>{settings.prompt} : prompt_lines(settings.prompts_file);
  const auto lm = load_language_model(settings.model_dir, settings.dtype);
  const auto ids = prompt_ids_of(lm, prompts, settings);
  auto options = settings.generation;
  if (!options.eos_token_id() && !lm.model.config().eos_token_id) {
    options.eos_token_id(lm.tokenizer.eos_id());  // config.json names none: the tokenizer's, if it has one
  }
  if (settings.prompts_file.empty()) {
    Utf8Stream stream;
    options.on_token([&](size_t, int64_t token) { out << stream.push(lm.tokenizer.decode({token})) << std::flush; });
    generate(lm.model, ids, options);
    out << stream.finish() << std::endl;
    return;
  }
  for (const auto& tokens : generate(lm.model, ids, options)) {
    Utf8Stream stream;
    const auto text = stream.push(lm.tokenizer.decode(tokens));
    out << escaped_line(text + stream.finish()) << "\n";
  }
  out << std::flush;
}

}  // namespace attention::app
