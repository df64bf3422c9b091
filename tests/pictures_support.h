#pragma once
// Helpers of the pictures' tests: labels, and the colours of rendered cells.

#include <opencv2/core.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace attention::testing {

/// `count` labels: stem + 0, stem + 1, ...
inline std::vector<std::string> words(int64_t count, const std::string& stem = "w") {
  std::vector<std::string> labels;
  for (int64_t i = 0; i < count; ++i) {
    labels.push_back(stem + std::to_string(i));
  }
  return labels;
}

/// Centre pixel of cell (row, col) of a `rows` x `cols` matrix drawn in `area`.
inline cv::Vec3b cell_colour(const cv::Mat& image, const cv::Rect& area, int rows, int cols, int row, int col) {
  const int cw = area.width / cols, ch = area.height / rows;
  return image.at<cv::Vec3b>(area.y + row * ch + ch / 2, area.x + col * cw + cw / 2);
}

inline void expect_colour_near(const cv::Vec3b& actual, const cv::Vec3b& expected, int tolerance = 2) {
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(actual[c], expected[c], tolerance) << "channel " << c << ": " << actual << " vs " << expected;
  }
}

}  // namespace attention::testing
