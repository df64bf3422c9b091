#include "colour.h"

#include "text.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

namespace attention::pictures::detail {
namespace {

const cv::Vec3b kMissing(190, 190, 190);  // NaN and inf cells

const std::vector<cv::Vec3b>& viridis() {
  static const std::vector<cv::Vec3b> lut = [] {
    cv::Mat ramp(256, 1, CV_8UC1);
    for (int i = 0; i < 256; ++i) {
      ramp.at<uchar>(i, 0) = static_cast<uchar>(i);
    }
    cv::Mat coloured;
    cv::applyColorMap(ramp, coloured, cv::COLORMAP_VIRIDIS);
    std::vector<cv::Vec3b> colours(256);
    for (int i = 0; i < 256; ++i) {
      colours[i] = coloured.at<cv::Vec3b>(i, 0);
    }
    return colours;
  }();
  return lut;
}

/// Blue (negative) - white (0) - red (positive): ColorBrewer's RdBu, 11 classes, reversed, interpolated.
const std::vector<cv::Vec3b>& diverging() {
  static const std::vector<cv::Vec3b> lut = [] {
    const std::array<std::array<double, 3>, 11> rgb = {{{5, 48, 97},
                                                        {33, 102, 172},
                                                        {67, 147, 195},
                                                        {146, 197, 222},
                                                        {209, 229, 240},
                                                        {247, 247, 247},
                                                        {253, 219, 199},
                                                        {244, 165, 130},
                                                        {214, 96, 77},
                                                        {178, 24, 43},
                                                        {103, 0, 31}}};
    std::vector<cv::Vec3b> colours(256);
    for (int i = 0; i < 256; ++i) {
      const double position = i / 255.0 * 10.0;
      const int lower = std::min(9, static_cast<int>(position));
      const double f = position - lower;
      cv::Vec3b colour;
      for (int channel = 0; channel < 3; ++channel) {
        const double value = rgb[lower][channel] * (1 - f) + rgb[lower + 1][channel] * f;
        colour[2 - channel] = cv::saturate_cast<uchar>(value);  // RGB → BGR
      }
      colours[i] = colour;
    }
    return colours;
  }();
  return lut;
}

}  // namespace

const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kAxisGrey(90, 90, 90);
const cv::Scalar kRed(0, 0, 220);

cv::Vec3b colour_of(double value, double low, double high, ColourMap map) {
  if (!std::isfinite(value)) {
    return kMissing;
  }
  const double t = high > low ? std::clamp((value - low) / (high - low), 0.0, 1.0) : 0.5;
  const auto index = static_cast<size_t>(std::lround(t * 255));
  return map == ColourMap::Viridis ? viridis()[index] : diverging()[index];
}

Scale make_scale(double low, double high, ColourMap map, const std::string& label) {
  if (!std::isfinite(low) || !std::isfinite(high) || low > high) {
    throw std::invalid_argument("the colour scale must go from a finite min to a larger max, got " +
                                format_number(low, 3) + " to " + format_number(high, 3));
  }
  if (low == high) {  // a constant matrix: a scale that contains 0 or reaches 1 above it
    if (map == ColourMap::Diverging) {
      const double m = std::abs(low) > 0 ? std::abs(low) : 1.0;
      low = -m;
      high = m;
    } else if (low > 0) {
      low = std::min(0.0, low);
    } else if (low < 0) {
      high = 0;
    } else {
      high = 1;
    }
    if (low == high) {
      high = low + 1;
    }
  }
  return Scale{low, high, map, label};
}

int colour_bar_height(int cells_height) { return std::clamp(cells_height, 140, 360); }

Panel render_colour_bar(const Scale& scale, int height) {
  constexpr int kBarWidth = 18;
  const int lh = line_height(kText);
  const int top = lh / 2 + 2;
  // Round values inside the scale, as many as fit (at least the two ends when fewer than two are round).
  auto values = nice_ticks(scale.low, scale.high, std::clamp(height / 45, 2, 6));
  if (values.size() < 2) {
    values = {scale.low, scale.high};
  }
  const int decimals = decimals_for_step(values[1] - values[0]);
  std::vector<std::string> ticks;
  int tick_width = 0;
  for (const double value : values) {
    ticks.push_back(format_number(value, decimals));
    tick_width = std::max(tick_width, text_width(ticks.back(), kText));
  }
  const cv::Mat label = scale.label.empty() ? cv::Mat() : rotated_text(sanitize(scale.label, 40), kText);
  const int label_x = kBarWidth + 8 + tick_width + 8;
  const int width = label_x + (label.empty() ? 0 : label.cols) + 2;
  const int image_height = std::max(top + height + lh / 2 + 4, label.empty() ? 0 : top + label.rows + 2);
  Panel panel{cv::Mat(image_height, width, CV_8UC3, kWhite), cv::Rect(1, top, kBarWidth, height)};
  for (int y = 0; y < height; ++y) {
    const double t = height > 1 ? 1.0 - static_cast<double>(y) / (height - 1) : 1.0;
    const auto colour = colour_of(scale.low + t * (scale.high - scale.low), scale.low, scale.high, scale.map);
    cv::line(panel.image, cv::Point(1, top + y), cv::Point(kBarWidth, top + y), cv::Scalar(colour), 1);
  }
  cv::rectangle(panel.image, cv::Rect(0, top - 1, kBarWidth + 2, height + 2), kAxisGrey, 1);
  for (size_t k = 0; k < values.size(); ++k) {
    const double t = (values[k] - scale.low) / (scale.high - scale.low);
    const int y = top + static_cast<int>(std::lround((1 - t) * (height - 1)));
    cv::line(panel.image, cv::Point(kBarWidth + 1, y), cv::Point(kBarWidth + 5, y), kAxisGrey, 1);
    draw_text(panel.image, ticks[k], cv::Point(kBarWidth + 8, y - lh / 2), kText);
  }
  if (!label.empty()) {
    paste_darker(panel.image, label, cv::Point(label_x, top + std::max(0, (height - label.rows) / 2)));
  }
  return panel;
}

}  // namespace attention::pictures::detail
