#include "cli/train_command.h"

#include "cli/command_line.h"
#include "cli/train_run.h"
#include "induction/checkpoint.h"
#include "relations/checkpoint.h"
#include "training/checkpoint.h"
#include "training/data_parallel.h"

#include <attention/attention.h>

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace attention::app {
namespace {

std::string timestamped_run_dir() {
  const auto now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  std::ostringstream name;
  name << "runs/" << std::put_time(&local, "%Y%m%d-%H%M%S");
  return name.str();
}

/// A resumed run continues as it was configured: an option given again must say what the run's checkpoint says.
/// Returns the stored configuration.
template <typename Config>
Config resumed(const TrainCommand& command, const Config& given, const Config& stored) {
  const nlohmann::json now = given, kept = stored;
  for (const auto* option : command.options) {
    auto key = option->get_name().substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    if (option->count() > 0 && kept.contains(key) && now.at(key) != kept.at(key)) {
      throw CLI::ValidationError(option->get_name(), "is " + now.at(key).dump() + " but the run in " + command.out +
                                                         " has " + kept.at(key).dump() +
                                                         "; --resume continues a run as it was configured");
    }
  }
  return stored;
}

/// The task of the run: --task, else with --resume the task of the run it continues, else relations.
Task task_of(const TrainCommand& command) {
  const auto given = task_from_name(command.task);
  if (!command.resume) {
    return given;
  }
  if (command.out.empty()) {
    throw CLI::ValidationError("--resume", "needs --out DIR of the run to continue");
  }
  const auto stored = Checkpoint(checkpoint_path(command.out)).task();
  if (command.task_option->count() > 0 && given != stored) {
    throw CLI::ValidationError("--task", "is " + command.task + " but the run in " + command.out + " is of --task " +
                                             task_name(stored) + "; --resume continues a run as it was configured");
  }
  return stored;
}

/// Options of the other task are a usage error.
void check_options_of(Task task, const TrainCommand& command) {
  const auto& foreign = task == Task::Relations ? command.induction_only : command.relations_only;
  for (const auto* option : foreign) {
    if (option->count() > 0) {
      throw CLI::ValidationError(option->get_name(),
                                 "is an option of --task " +
                                     task_name(task == Task::Relations ? Task::Induction : Task::Relations) +
                                     ", not of --task " + task_name(task));
    }
  }
}

/// Every rank takes an equal share of each batch.
template <typename Config>
const Config& shared_by(const Config& config, const DataParallel& ranks) {
  if (config.batch_size % ranks.size() != 0) {
    throw CLI::ValidationError("--batch-size", std::to_string(config.batch_size) + " is not divisible by the " +
                                                   std::to_string(ranks.size()) +
                                                   " processes (WORLD_SIZE): each takes an equal share of a batch");
  }
  return config;
}

}  // namespace

CLI::App* add_train_command(CLI::App& app, TrainCommand& command) {
  auto& relations = command.relations;
  auto& induction = command.induction;
  auto* train = app.add_subcommand(
      "train",
      "Train attention: --task relations finds the word a query relates to (warm -> mat), against a similarity "
      "baseline; --task induction grows induction heads in a two-layer model, against a one-layer one");
  command.task_option = train->add_option("--task", command.task, "What to train")
                            ->check(CLI::IsMember(task_names()))
                            ->capture_default_str();
  // Both tasks: whole numbers >= 1 that set both configurations; --help shows each task's default.
  const auto add_shared = [train](const std::string& name, int64_t& relations_value, int64_t& induction_value,
                                  const std::string& description) {
    return train
        ->add_option_function<int64_t>(
            name, [&relations_value, &induction_value](int64_t value) { relations_value = induction_value = value; },
            description + " (default: " + std::to_string(relations_value) + "; " + std::to_string(induction_value) +
                " with --task induction)")
        ->check(kPositiveInteger);
  };
  add_shared("--heads", relations.heads, induction.heads, "Heads of --model multihead, or of each layer");
  add_shared("--dim", relations.dim, induction.dim, "Embedding and attention width");
  add_shared("--epochs", relations.epochs, induction.epochs,
             "Passes over the training data; with --task induction, evaluations of --steps-per-epoch steps");
  add_shared("--batch-size", relations.batch_size, induction.batch_size, "Examples (sequences) per step");
  std::ostringstream lr_defaults;
  lr_defaults << "Adam learning rate (default: " << relations.lr << "; " << induction.lr << " with --task induction)";
  train
      ->add_option_function<double>(
          "--lr", [&relations, &induction](double value) { relations.lr = induction.lr = value; }, lr_defaults.str())
      ->check(kPositiveNumber);
  train->add_option_function<uint64_t>(
      "--seed", [&relations, &induction](uint64_t value) { relations.seed = induction.seed = value; },
      "Seed of the data, the weights and the batch order (default: " + std::to_string(relations.seed) + ")");
  // The relations task alone. Files are not checked here: one that is missing is a failure (exit code 1), found
  // when it is read.
  command.relations_only = {
      train->add_option("--data", relations.data,
                        "--task relations: training examples, sentence<TAB>query<TAB>target per line"),
      train->add_option("--test-data", relations.test_data,
                        "--task relations: held-out examples (default: a seeded split of --data)"),
      train->add_option("--model", command.model, "--task relations: the attention layer")
          ->check(CLI::IsMember(model_kind_names()))
          ->capture_default_str(),
      train->add_flag("--train-embeddings", relations.train_embeddings,
                      "--task relations: let the word embeddings learn too")};
  // The induction task alone.
  command.induction_only = {
      train
          ->add_option("--layers", induction.layers,
                       "--task induction: layers of the trained model (the baseline has 1)")
          ->check(kPositiveInteger)
          ->capture_default_str(),
      train
          ->add_option("--steps-per-epoch", induction.steps_per_epoch,
                       "--task induction: steps of an epoch, between evaluations and checkpoints")
          ->check(kPositiveInteger)
          ->capture_default_str(),
      train->add_flag("--mlp", induction.mlp,
                      "--task induction: an MLP block after each attention layer (default: attention alone)")};
  train->add_option("--threads", command.threads, "CPU threads (default: 1, fastest for these small models)")
      ->check(kPositiveInteger);
  train->add_option("--out", command.out, "Output folder (default: runs/<timestamp>)");
  for (const auto* name : {"--data", "--test-data", "--model", "--heads", "--dim", "--epochs", "--batch-size", "--lr",
                           "--seed", "--train-embeddings", "--layers", "--steps-per-epoch", "--mlp"}) {
    command.options.push_back(train->get_option(name));
  }
  train->add_flag("--resume", command.resume, "Continue the run in --out from its checkpoint");
  train->add_flag("--quiet", command.quiet, "Print nothing but errors");
  return train;
}

int run_train(TrainCommand command) {
  // One thread unless --threads says otherwise: the models are tiny, and OpenMP's overhead on their many small
  // operations outweighs what more threads gain.
  attention::set_num_threads(command.threads > 0 ? command.threads : 1);
  command.relations.model = model_kind_from_name(command.model);
  const auto task = task_of(command);
  check_options_of(task, command);
  const RunSettings settings{command.out.empty() ? timestamped_run_dir() : command.out, command.resume, command.quiet};
  // Started by torchrun: one of its ranks, each training on its share of every batch.
  const auto joined = join_torchrun_ranks();
  auto& ranks = joined ? *joined : single_process();
  if (task == Task::Relations) {
    const auto config =
        command.resume ? resumed(command, command.relations, read_checkpoint_config(command.out)) : command.relations;
    return run_relations(shared_by(config, ranks), settings, ranks);
  }
  const auto config =
      command.resume ? resumed(command, command.induction, read_induction_config(command.out)) : command.induction;
  return run_induction(shared_by(config, ranks), settings, ranks);
}

}  // namespace attention::app
