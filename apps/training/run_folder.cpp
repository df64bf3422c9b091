#include "training/run_folder.h"

#include "atomic_file.h"

#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace attention::app {

namespace fs = std::filesystem;

std::string RunFiles::path(const std::string& file) {
  written_.push_back(file);
  return (folder_ / file).string();
}

void write_metrics_file(const std::string& dir, const nlohmann::json& metrics) {
  files::write_atomically((fs::path(dir) / kMetricsFile).string(), files::kTemporarySuffix,
                          [&](const std::string& temporary) { files::write_bytes(temporary, metrics.dump(2) + "\n"); });
}

void in_run_folder(const std::string& dir, const std::vector<std::string>& files, const std::function<void()>& run,
                   const DataParallel& ranks) {
  if (!ranks.is_first()) {
    run();
    return;
  }
  const fs::path folder(dir);
  std::error_code error;
  if (fs::exists(folder, error) && !fs::is_directory(folder, error)) {
    throw std::runtime_error(dir + ": cannot write the run there: it is a file, not a folder");
  }
  bool created = false;
  try {
    created = fs::create_directories(folder);
  } catch (const fs::filesystem_error& failure) {
    throw std::runtime_error(dir + ": cannot create the run folder: " + failure.code().message());
  }
  for (const auto& file : files) {
    fs::remove(folder / (file + files::kTemporarySuffix), error);
  }
  try {
    run();
  } catch (...) {
    if (created && fs::is_empty(folder, error)) {
      fs::remove(folder, error);
    }
    throw;
  }
}

}  // namespace attention::app
