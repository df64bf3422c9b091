// The `attention` command-line program.
// Exit codes: 0 success, 1 failure (bad data, a file that cannot be written, ...), 2 usage error.
#include "explain.h"

#include <attention/version.h>

#include <c10/util/Exception.h>

#include <CLI/CLI.hpp>

#include <iostream>

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct ExplainCommand {
  std::string sentence;
  std::string query;
  uint64_t seed = attention::app::ExplainOptions{}.seed;
};

attention::app::ExplainOptions explain_options(const ExplainCommand& command) {
  attention::app::ExplainOptions options;
  options.seed = command.seed;
  if (!command.sentence.empty()) {
    options.words = attention::app::split_words(command.sentence);
    if (options.words.empty()) {
      throw CLI::ValidationError("--sentence", "has no words");
    }
  }
  if (!command.query.empty()) {
    const auto words = options.words.empty() ? attention::app::split_words("Your journey starts with one step")
                                             : options.words;
    const auto query = attention::app::split_words(command.query);
    const auto found = query.size() == 1 ? std::find(words.begin(), words.end(), query[0]) : words.end();
    if (found == words.end()) {
      throw CLI::ValidationError("--query", "'" + command.query + "' is not a word of the sentence");
    }
    options.query_index = static_cast<size_t>(found - words.begin());
  }
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attention: attention mechanisms you can train and look at"};
  app.set_version_flag("--version", std::string("attention ") + ATTENTION_VERSION_STRING);
  app.require_subcommand(1);

  ExplainCommand explain;
  auto* explain_command =
      app.add_subcommand("explain", "Print the math of attention step by step: scores, softmax, context vectors");
  explain_command->add_option("--sentence", explain.sentence,
                              "Sentence to explain (default: the tutorial's \"Your journey starts with one step\")");
  explain_command->add_option("--query", explain.query, "Word whose attention is followed (default: the second)");
  explain_command->add_option("--seed", explain.seed, "Seed of random embeddings and of W_q, W_k, W_v")
      ->capture_default_str();

  try {
    app.parse(argc, argv);
    if (explain_command->parsed()) {
      attention::app::explain(explain_options(explain), std::cout);
    }
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForVersion& version) {
    return app.exit(version);
  } catch (const CLI::Error& error) {
    app.exit(error);  // prints the message and a hint to --help
    return kExitUsage;
  } catch (const c10::Error& error) {
    std::cerr << "attention: error: " << error.what_without_backtrace() << "\n";
    return kExitFailure;
  } catch (const std::exception& error) {
    std::cerr << "attention: error: " << error.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
