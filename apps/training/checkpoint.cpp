#include "training/checkpoint.h"

#include "atomic_file.h"
#include "training/zip_check.h"

#include <torch/serialize/output-archive.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

namespace attention::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kStateRecord = "state";
constexpr const char* kTaskKey = "task";
constexpr const char* kModelRecord = "model";
constexpr const char* kOptimizerRecord = "optimizer";

std::runtime_error unreadable(const std::string& path, const std::string& why) {
  return std::runtime_error(path + ": not a readable attention checkpoint (" + why + ")");
}

/// The bytes of the checkpoint file `path`, its records checked against their CRC-32.
std::string read_checked(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    throw std::runtime_error(path + ": cannot open the checkpoint");
  }
  std::string bytes((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  if (stream.bad()) {
    throw std::runtime_error(path + ": read error");
  }
  try {
    check_zip_records(bytes);
  } catch (const std::runtime_error& damage) {
    throw std::runtime_error(path + ": not a readable attention checkpoint, it is damaged (" + damage.what() +
                             "): not written by attention train, or truncated or corrupted since");
  }
  return bytes;
}

}  // namespace

std::string checkpoint_path(const std::string& run_dir) {
  std::error_code error;
  const auto status = fs::status(run_dir, error);
  if (!fs::exists(status)) {
    throw std::runtime_error(run_dir + ": no such folder (attention train --out DIR writes its checkpoint to DIR/" +
                             kCheckpointFile + ")");
  }
  if (!fs::is_directory(status)) {
    throw std::runtime_error(run_dir + ": not a folder (give the folder of a run, which holds its " + kCheckpointFile +
                             ")");
  }
  return (fs::path(run_dir) / kCheckpointFile).string();
}

void save_checkpoint(const std::string& path, Task task, const nlohmann::json& state, const torch::nn::Module& model,
                     const torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  auto tagged = state;
  tagged[kTaskKey] = task;
  archive.write(kStateRecord, c10::IValue(tagged.dump()));
  model.save(model_archive);
  if (optimizer) {
    optimizer->save(optimizer_archive);
  }
  archive.write(kModelRecord, model_archive);
  archive.write(kOptimizerRecord, optimizer_archive);
  // Serialised in memory, then written with checked writes: archive.save_to(path) only notices a failed write
  // (a full disk) when its writer is destroyed, and a destructor that throws ends the program.
  std::string bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  try {
    files::write_atomically(
        path, files::kTemporarySuffix, [&](const std::string& temporary) { files::write_bytes(temporary, bytes); },
        [](const std::string& temporary) { read_checked(temporary); });
  } catch (const std::exception& error) {
    throw std::runtime_error("cannot save the checkpoint " + path +
                             " (the previous one, if any, is kept): " + error.what());
  }
}

Checkpoint::Checkpoint(const std::string& path) : path_(path) {
  std::error_code error;
  if (!fs::exists(path, error)) {
    throw std::runtime_error(path + ": no checkpoint there (attention train --out DIR writes DIR/" + kCheckpointFile +
                             ")");
  }
  if (!fs::is_regular_file(path, error)) {
    throw std::runtime_error(path + ": not a file");
  }
  const auto bytes = read_checked(path);
  try {
    archive_.load_from(bytes.data(), bytes.size());
    c10::IValue state;
    archive_.read(kStateRecord, state);
    state_ = nlohmann::json::parse(state.toStringRef());
    if (state_.contains(kTaskKey)) {
      task_ = state_.at(kTaskKey).get<Task>();
    }
  } catch (const c10::Error& failure) {
    throw unreadable(path, failure.what_without_backtrace());
  } catch (const std::exception& failure) {
    throw unreadable(path, failure.what());
  }
}

const nlohmann::json& Checkpoint::state(Task task) const {
  if (task != task_) {
    throw std::runtime_error(path_ + ": a run of --task " + task_name(task_) + ", not of --task " + task_name(task));
  }
  return state_;
}

void Checkpoint::load_model(torch::nn::Module& model) {
  torch::serialize::InputArchive model_archive;
  archive_.read(kModelRecord, model_archive);
  model.load(model_archive);
}

void Checkpoint::load_optimizer(torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive optimizer_archive;
  archive_.read(kOptimizerRecord, optimizer_archive);
  optimizer.load(optimizer_archive);
}

}  // namespace attention::app
