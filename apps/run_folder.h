#pragma once
// The output folder of a training run: where its checkpoint, metrics and pictures go.

#include <functional>
#include <string>
#include <vector>

namespace attention::app {

/// Runs `run` with `dir` as the run's folder. Creates the folder (and its parents) when it is missing, after
/// removing the temporary files of `files` ("checkpoint.pt" → "checkpoint.pt" + files::kTemporarySuffix) that a run
/// killed while saving (SIGKILL, a power cut) left behind: they are never read. When `run` throws and the folder was
/// created here and is still empty, removes it again, so a run that fails before writing anything leaves nothing.
/// Throws std::runtime_error naming `dir` when it is a file or cannot be created.
void in_run_folder(const std::string& dir, const std::vector<std::string>& files, const std::function<void()>& run);

}  // namespace attention::app
