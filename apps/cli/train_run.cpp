#include "cli/train_run.h"

#include "cli/command_line.h"
#include "training/checkpoint.h"
#include "training/run_folder.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace attention::app {
namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) { g_stop_requested.store(true); }

}  // namespace

const std::atomic<bool>& stop_on_ctrl_c() {
  std::signal(SIGINT, request_stop);
  return g_stop_requested;
}

int interrupted(const std::string& out_dir) {
  std::cerr << "\nattention: interrupted; checkpoint saved in " << out_dir << " (continue with --resume --out "
            << out_dir << ")\n";
  return kExitInterrupted;
}

ProgressLine progress_line(bool quiet) {
  const bool terminal = ::isatty(STDERR_FILENO) != 0;
  return [quiet, terminal](const std::string& label, int64_t epoch, int64_t epochs, const std::string& values) {
    if (quiet) {
      return;
    }
    const bool last = epoch == epochs;
    if (!terminal && !last && epoch % std::max<int64_t>(1, epochs / 10) != 0) {
      return;
    }
    constexpr int kBarWidth = 24;
    const auto filled = static_cast<int>(kBarWidth * epoch / epochs);
    std::ostringstream line;
    line << label << (label.empty() ? "" : " ") << "epoch " << std::setw(3) << epoch << "/" << epochs << " ["
         << std::string(filled, '#') << std::string(kBarWidth - filled, '.') << "] " << values;
    std::cerr << (terminal ? "\r" : "") << line.str() << (terminal && !last ? "" : "\n") << std::flush;
  };
}

void print_files(const std::string& out_dir, const std::vector<std::string>& pictures) {
  std::cout << "  Written to " << out_dir << ": " << kCheckpointFile << ", " << kMetricsFile << "\n"
            << "  Pictures:";
  for (const auto& file : pictures) {
    std::cout << " " << file;
  }
  std::cout << "\n";
}

}  // namespace attention::app
