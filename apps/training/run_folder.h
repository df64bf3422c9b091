#pragma once
// The output folder of a training run: where its checkpoint, metrics and pictures go.

#include "training/data_parallel.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace attention::app {

/// The file name of the metrics in a run's folder.
inline constexpr const char* kMetricsFile = "metrics.json";

/// Runs `run` with `dir` as the run's folder. Creates the folder (and its parents) when it is missing, after
/// removing the temporary files of `files` ("checkpoint.pt" → "checkpoint.pt" + files::kTemporarySuffix) that a run
/// killed while saving (SIGKILL, a power cut) left behind: they are never read. When `run` throws and the folder was
/// created here and is still empty, removes it again, so a run that fails before writing anything leaves nothing.
/// Throws std::runtime_error naming `dir` when it is a file or cannot be created. On ranks other than 0 of
/// `ranks`, only runs `run`: rank 0 alone touches the folder.
void in_run_folder(const std::string& dir, const std::vector<std::string>& files, const std::function<void()>& run,
                   const DataParallel& ranks);

/// The files a run writes into its folder, listed by name in the order they are written (the pictures that
/// `attention train` prints).
class RunFiles {
 public:
  explicit RunFiles(const std::string& dir) : folder_(dir) {}
  /// The path of `file` in the folder, noted as written.
  std::string path(const std::string& file);
  const std::vector<std::string>& written() const { return written_; }

 private:
  std::filesystem::path folder_;
  std::vector<std::string> written_;
};

/// Writes `metrics` to `dir`/metrics.json as indented JSON, through a temporary file (files::write_atomically).
/// Throws std::runtime_error naming the path when it cannot be written.
void write_metrics_file(const std::string& dir, const nlohmann::json& metrics);

}  // namespace attention::app
