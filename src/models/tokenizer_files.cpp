// read_tokenizer_files: the JSON and text files of a Hugging Face tokenizer, each setting checked, each error
// naming the file and the setting (as its path in the JSON: "model.merges[3]").
#include "tokenizer_files.h"

#include "weights/json_reader.h"

#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace attention::detail {
namespace {

using Json = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  TORCH_CHECK(file, path.string(), ": cannot be opened");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  TORCH_CHECK(!file.bad(), path.string(), ": cannot be read");
  return text;
}

Json read_json(const fs::path& path) { return parse_json(read_file(path), path.string() + ": not JSON"); }

// The member `key` of `object`, or nullptr when it is absent or null.
const Json* member(const Json& object, const std::string& key) {
  const auto found = object.find(key);
  return found == object.end() || found->is_null() ? nullptr : &*found;
}

std::string joined(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

// The boolean `key` of `object` (at `path` in `file`, for errors), `otherwise` when absent or null.
bool flag(const Json& object, const std::string& key, bool otherwise, const std::string& file,
          const std::string& path) {
  const auto* value = member(object, key);
  if (value == nullptr) {
    return otherwise;
  }
  TORCH_CHECK(value->is_boolean(), file, ": ", joined(path, key), " must be true or false, not ", value->dump());
  return value->get<bool>();
}

const Json& object_member(const Json& object, const std::string& key, const std::string& file,
                          const std::string& path) {
  const auto* value = member(object, key);
  TORCH_CHECK(value != nullptr, file, ": ", joined(path, key), " is missing");
  TORCH_CHECK(value->is_object(), file, ": ", joined(path, key), " must be an object, not ", value->type_name());
  return *value;
}

std::string type_of(const Json& object, const std::string& file, const std::string& path) {
  TORCH_CHECK(object.is_object(), file, ": ", path, " must be an object, not ", object.type_name());
  const auto* type = member(object, "type");
  TORCH_CHECK(type != nullptr && type->is_string(), file, ": ", path, " has no \"type\" string");
  return type->get<std::string>();
}

std::vector<std::pair<std::string, int64_t>> read_vocab(const Json& vocab, const std::string& file,
                                                        const std::string& path) {
  TORCH_CHECK(vocab.is_object(), file, ": ", path.empty() ? "the vocabulary" : path, " must be an object of ",
              "token: id, not ", vocab.type_name());
  std::vector<std::pair<std::string, int64_t>> tokens;
  tokens.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    TORCH_CHECK(id.is_number_integer() && id.get<int64_t>() >= 0, file, ": ", path.empty() ? "" : path + ": ", "token ",
                Json(token).dump(), " has the id ", id.dump(), ", not an integer >= 0");
    tokens.emplace_back(token, id.get<int64_t>());
  }
  return tokens;
}

// One merge written "left right" (one space: tokens are byte-level and hold no space).
Merge split_merge(const std::string& text, size_t index, const std::string& where) {
  const auto space = text.find(' ');
  TORCH_CHECK(space != std::string::npos && space > 0 && space + 1 < text.size() &&
                  text.find(' ', space + 1) == std::string::npos,
              where, ": the merge ", Json(text).dump(), " is not two tokens and one space between them");
  return {text.substr(0, space), text.substr(space + 1), index};
}

std::vector<Merge> read_merges_txt(const std::string& text, const std::string& file) {
  std::vector<Merge> merges;
  std::istringstream lines(text);
  std::string line;
  for (size_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) {
      continue;
    }
    merges.push_back(split_merge(line, number, c10::str(file, " line ", number)));
  }
  return merges;
}

std::vector<Merge> read_json_merges(const Json& merges, const std::string& file) {
  TORCH_CHECK(merges.is_array(), file, ": model.merges must be an array, not ", merges.type_name());
  std::vector<Merge> rules;
  rules.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& merge = merges[i];
    const auto where = c10::str(file, ": model.merges[", i, "]");
    if (merge.is_string()) {
      rules.push_back(split_merge(merge.get<std::string>(), i, where));
    } else {
      TORCH_CHECK(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(), where,
                  " must be \"left right\" or [\"left\", \"right\"], not ", merge.dump());
      rules.push_back({merge[0].get<std::string>(), merge[1].get<std::string>(), i});
    }
  }
  return rules;
}

SplitBehavior behavior_of(const Json& step, const std::string& file, const std::string& path) {
  static const std::vector<std::pair<std::string, SplitBehavior>> behaviors = {
      {"Isolated", SplitBehavior::kIsolated},
      {"Removed", SplitBehavior::kRemoved},
      {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
      {"MergedWithNext", SplitBehavior::kMergedWithNext},
      {"Contiguous", SplitBehavior::kContiguous}};
  const auto* behavior = member(step, "behavior");
  TORCH_CHECK(behavior != nullptr && behavior->is_string(), file, ": ", path, ".behavior is missing");
  for (const auto& [name, value] : behaviors) {
    if (*behavior == name) {
      return value;
    }
  }
  C10_THROW_ERROR(Error, c10::str(file, ": ", path, ".behavior ", behavior->dump(), " is none of Isolated, ",
                                  "Removed, MergedWithPrevious, MergedWithNext, Contiguous"));
}

SplitStep read_split(const Json& step, const std::string& file, const std::string& path) {
  SplitStep split;
  split.where = file + ": " + path;
  const auto& pattern = object_member(step, "pattern", file, path);
  const auto* regex = member(pattern, "Regex");
  const auto* literal = member(pattern, "String");
  TORCH_CHECK((regex != nullptr) != (literal != nullptr) && (regex ? regex : literal)->is_string(), file, ": ", path,
              ".pattern must be {\"Regex\": \"...\"} or {\"String\": \"...\"}, not ", pattern.dump());
  split.literal = literal != nullptr;
  split.pattern = (regex ? regex : literal)->get<std::string>();
  split.behavior = behavior_of(step, file, path);
  split.invert = flag(step, "invert", false, file, path);
  return split;
}

// Digits (pre_tokenizers/digits.rs, SmolLM2's): a split at every numeric character (char::is_numeric: Unicode's
// Nd, Nl and No, PCRE2's \p{N}), each digit alone with individual_digits, else runs of them together.
SplitStep read_digits(const Json& step, const std::string& file, const std::string& path) {
  SplitStep digits;
  digits.where = file + ": " + path;
  digits.pattern = "\\p{N}";
  const bool individual = flag(step, "individual_digits", false, file, path);
  digits.behavior = individual ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
  return digits;
}

ByteLevelStep read_byte_level(const Json& step, const std::string& file, const std::string& path) {
  return {flag(step, "add_prefix_space", true, file, path), flag(step, "use_regex", true, file, path)};
}

// The pre-tokenizer: ByteLevel, or a Sequence of Splits and Digits ending with ByteLevel.
std::vector<PreTokenizerStep> read_pre_tokenizer(const Json& tokenizer, const std::string& file) {
  const auto* pre_tokenizer = member(tokenizer, "pre_tokenizer");
  TORCH_CHECK(pre_tokenizer != nullptr, file, ": pre_tokenizer is missing: byte-level BPE needs the ByteLevel ",
              "pre-tokenizer");
  const auto type = type_of(*pre_tokenizer, file, "pre_tokenizer");
  if (type == "ByteLevel") {
    return {read_byte_level(*pre_tokenizer, file, "pre_tokenizer")};
  }
  TORCH_CHECK(type == "Sequence", file, ": pre_tokenizer \"", type, "\" is not implemented (ByteLevel, or a ",
              "Sequence of Split or Digits, then ByteLevel)");
  const auto* steps = member(*pre_tokenizer, "pretokenizers");
  TORCH_CHECK(steps != nullptr && steps->is_array() && !steps->empty(), file,
              ": pre_tokenizer.pretokenizers must be a non-empty array");
  std::vector<PreTokenizerStep> pipeline;
  for (size_t i = 0; i < steps->size(); ++i) {
    const auto path = c10::str("pre_tokenizer.pretokenizers[", i, "]");
    const auto step_type = type_of((*steps)[i], file, path);
    const bool last = i + 1 == steps->size();
    if (step_type == "Split" || step_type == "Digits") {
      TORCH_CHECK(!last, file, ": ", path, " is a ", step_type, ", but the last pre-tokenizer must be ByteLevel");
      pipeline.emplace_back(step_type == "Split" ? read_split((*steps)[i], file, path)
                                                 : read_digits((*steps)[i], file, path));
    } else {
      TORCH_CHECK(step_type == "ByteLevel", file, ": ", path, " \"", step_type, "\" is not implemented (Split or ",
                  "Digits, then ByteLevel)");
      TORCH_CHECK(last, file, ": ", path, " is a ByteLevel before the last pre-tokenizer, which is not implemented");
      pipeline.emplace_back(read_byte_level((*steps)[i], file, path));
    }
  }
  return pipeline;
}

std::vector<AddedToken> read_added_tokens(const Json& tokenizer, const std::string& file) {
  std::vector<AddedToken> added;
  const auto* tokens = member(tokenizer, "added_tokens");
  if (tokens == nullptr) {
    return added;
  }
  TORCH_CHECK(tokens->is_array(), file, ": added_tokens must be an array, not ", tokens->type_name());
  for (size_t i = 0; i < tokens->size(); ++i) {
    const auto& token = (*tokens)[i];
    const auto path = c10::str("added_tokens[", i, "]");
    TORCH_CHECK(token.is_object(), file, ": ", path, " must be an object");
    const auto* id = member(token, "id");
    const auto* content = member(token, "content");
    TORCH_CHECK(id != nullptr && id->is_number_integer() && id->get<int64_t>() >= 0, file, ": ", path,
                ".id must be an integer >= 0");
    TORCH_CHECK(content != nullptr && content->is_string() && !content->get<std::string>().empty(), file, ": ", path,
                ".content must be a non-empty string");
    for (const char* option : {"single_word", "lstrip", "rstrip"}) {
      TORCH_CHECK(!flag(token, option, false, file, path), file, ": ", path, " (", content->dump(), ") has ", option,
                  " true, which is not implemented");
    }
    added.push_back({content->get<std::string>(), id->get<int64_t>()});
  }
  return added;
}

void read_tokenizer_json(const fs::path& path, TokenizerFiles& files) {
  const auto file = path.string();
  const auto tokenizer = read_json(path);
  TORCH_CHECK(tokenizer.is_object(), file, ": must be a JSON object, not ", tokenizer.type_name());

  const auto& model = object_member(tokenizer, "model", file, "");
  const auto* type = member(model, "type");
  TORCH_CHECK(type == nullptr || *type == "BPE", file, ": model.type ", type ? type->dump() : "", " is not ",
              "implemented (BPE only)");
  TORCH_CHECK(member(model, "dropout") == nullptr || model["dropout"] == 0, file, ": model.dropout ",
              model["dropout"].dump(), " is not implemented (null: encoding is deterministic)");
  TORCH_CHECK(!flag(model, "byte_fallback", false, file, "model"), file, ": model.byte_fallback true is not ",
              "implemented (byte-level BPE has every byte as a token)");
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto* value = member(model, affix);
    TORCH_CHECK(value == nullptr || *value == "", file, ": model.", affix, " ", value ? value->dump() : "",
                " is not implemented");
  }
  files.vocab_file = files.merges_file = file;
  files.vocab = read_vocab(object_member(model, "vocab", file, "model"), file, "model.vocab");
  const auto* merges = member(model, "merges");
  TORCH_CHECK(merges != nullptr, file, ": model.merges is missing");
  files.merges = read_json_merges(*merges, file);
  files.ignore_merges = flag(model, "ignore_merges", false, file, "model");

  if (const auto* normalizer = member(tokenizer, "normalizer")) {
    const auto type = type_of(*normalizer, file, "normalizer");
    TORCH_CHECK(type == "NFC", file, ": normalizer \"", type, "\" is not implemented (only null and NFC)");
    files.nfc = true;
  }
  files.pre_tokenizer = read_pre_tokenizer(tokenizer, file);
  const auto* decoder = member(tokenizer, "decoder");
  TORCH_CHECK(decoder != nullptr, file, ": decoder is missing: byte-level BPE needs the ByteLevel decoder");
  const auto decoder_type = type_of(*decoder, file, "decoder");
  TORCH_CHECK(decoder_type == "ByteLevel", file, ": decoder \"", decoder_type, "\" is not implemented (ByteLevel)");
  files.added_tokens = read_added_tokens(tokenizer, file);
}

void read_gpt2_files(const fs::path& vocab_path, const fs::path& merges_path, TokenizerFiles& files) {
  files.vocab_file = vocab_path.string();
  files.vocab = read_vocab(read_json(vocab_path), files.vocab_file, "");
  files.merges_file = merges_path.string();
  files.merges_by_line = true;
  files.merges = read_merges_txt(read_file(merges_path), files.merges_file);
  files.pre_tokenizer = {ByteLevelStep{false, true}};
  for (const auto& [token, id] : files.vocab) {
    if (token == "<|endoftext|>") {
      files.added_tokens.push_back({token, id});
    }
  }
}

// A special token of tokenizer_config.json: a string, or an object whose "content" is.
std::optional<std::string> special_token(const Json& config, const std::string& key, const std::string& file) {
  const auto* value = member(config, key);
  if (value == nullptr) {
    return std::nullopt;
  }
  const auto* content = value->is_object() ? member(*value, "content") : value;
  TORCH_CHECK(content != nullptr && content->is_string(), file, ": ", key, " must be a string or an object with a ",
              "\"content\" string, not ", value->dump());
  return content->get<std::string>();
}

}  // namespace

std::string TokenizerFiles::where(const Merge& merge) const {
  return merges_by_line ? c10::str(merges_file, " line ", merge.index)
                        : c10::str(merges_file, ": model.merges[", merge.index, "]");
}

TokenizerFiles read_tokenizer_files(const std::string& dir) {
  const fs::path folder(dir);
  TORCH_CHECK(fs::is_directory(folder), "load_tokenizer: ", dir, " is not a folder");
  TokenizerFiles files;
  const auto tokenizer_json = folder / "tokenizer.json";
  const auto vocab_json = folder / "vocab.json";
  const auto merges_txt = folder / "merges.txt";
  if (fs::exists(tokenizer_json)) {
    read_tokenizer_json(tokenizer_json, files);
  } else {
    TORCH_CHECK(fs::exists(vocab_json) || fs::exists(merges_txt), "load_tokenizer: ", dir, " has no tokenizer.json ",
                "and no vocab.json and merges.txt");
    TORCH_CHECK(fs::exists(vocab_json), "load_tokenizer: ", dir, " has merges.txt but no vocab.json (and no ",
                "tokenizer.json)");
    TORCH_CHECK(fs::exists(merges_txt), "load_tokenizer: ", dir, " has vocab.json but no merges.txt (and no ",
                "tokenizer.json)");
    read_gpt2_files(vocab_json, merges_txt, files);
  }
  const auto config_json = folder / "tokenizer_config.json";
  if (fs::exists(config_json)) {
    files.config_file = config_json.string();
    const auto config = read_json(config_json);
    TORCH_CHECK(config.is_object(), files.config_file, ": must be a JSON object, not ", config.type_name());
    files.bos_token = special_token(config, "bos_token", files.config_file);
    files.eos_token = special_token(config, "eos_token", files.config_file);
  }
  return files;
}

}  // namespace attention::detail
