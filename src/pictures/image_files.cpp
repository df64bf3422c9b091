#include "image_files.h"

#include "atomic_file.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <system_error>

namespace attention::pictures::detail {
namespace {

namespace fs = std::filesystem;

/// Checks that `path` names a file in an existing folder, before anything is written.
void check_writable_location(const std::string& path) {
  if (path.empty()) {
    throw std::runtime_error("cannot write a picture to an empty path");
  }
  const fs::path file(path);
  if (!file.has_filename() || file.filename() == "." || file.filename() == "..") {
    throw std::runtime_error("cannot write the picture " + path + ": the path names a folder, not a file");
  }
  std::error_code error;
  const auto folder = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  const auto status = fs::status(folder, error);
  if (!fs::exists(status)) {
    throw std::runtime_error("cannot write the picture " + path + ": the folder " + folder.string() +
                             " does not exist");
  }
  if (!fs::is_directory(status)) {
    throw std::runtime_error("cannot write the picture " + path + ": " + folder.string() + " is not a folder");
  }
  const auto file_status = fs::status(file, error);
  if (fs::is_directory(file_status)) {
    throw std::runtime_error("cannot write the picture " + path + ": it is a folder");
  }
  // A picture is written to a temporary file that is then renamed over `path`: over a device or a pipe
  // (/dev/full, /dev/stdout) that rename would replace the device itself.
  if (fs::exists(file_status) && !fs::is_regular_file(file_status)) {
    throw std::runtime_error("cannot write the picture " + path +
                             ": it is not a regular file (a device, pipe or socket)");
  }
}

/// Checks `path`, then writes it through the temporary file `path` + `temporary_suffix` (files::write_atomically);
/// an OpenCV error becomes std::runtime_error naming the path.
void write_through(const std::string& path, const std::string& temporary_suffix,
                   const std::function<void(const std::string& temporary)>& write) {
  check_writable_location(path);
  try {
    files::write_atomically(path, temporary_suffix, write);
  } catch (const cv::Exception& error) {
    throw std::runtime_error("cannot write the picture " + path + ": " + error.err);
  }
}

}  // namespace

void write_png(const std::string& path, const cv::Mat& image) {
  // cv::imwrite takes the format from the extension: the temporary name ends in .png.
  write_through(path, ".tmp.png", [&](const std::string& temporary) {
    if (!cv::imwrite(temporary, image)) {
      throw std::runtime_error("cannot write the picture " + path + ": the PNG encoder failed");
    }
  });
}

void write_avi(const std::string& path, const std::vector<cv::Mat>& frames, double frames_per_second,
               double hold_seconds) {
  if (frames.empty()) {
    throw std::invalid_argument("no frames to write to " + path);
  }
  write_through(path, ".tmp.avi", [&](const std::string& temporary) {
    // OpenCV's own Motion-JPEG writer: no FFmpeg or GStreamer needed.
    cv::VideoWriter video(temporary, cv::CAP_OPENCV_MJPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'),
                          frames_per_second, frames.front().size(), true);
    if (!video.isOpened()) {
      throw std::runtime_error("cannot write the animation " + path + ": the Motion-JPEG writer did not open");
    }
    for (const auto& frame : frames) {
      video.write(frame);
    }
    const auto held = static_cast<int>(std::lround(hold_seconds * frames_per_second));
    for (int i = 0; i < held; ++i) {
      video.write(frames.back());
    }
    video.release();
    std::error_code error;
    if (fs::file_size(temporary, error) == 0 || error) {
      throw std::runtime_error("cannot write the animation " + path + ": nothing was written");
    }
  });
}

}  // namespace attention::pictures::detail
