#pragma once
// Internal: rendered images written to files, never half-written (through a temporary file, flushed, renamed).

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

/// Writes `image` as PNG to `path`; std::runtime_error naming the path.
void write_png(const std::string& path, const cv::Mat& image);
/// Writes `frames` as Motion-JPEG AVI (OpenCV's built-in encoder), holding the last frame `hold_seconds`.
void write_avi(const std::string& path, const std::vector<cv::Mat>& frames, double frames_per_second,
               double hold_seconds);

}  // namespace attention::pictures::detail
