#pragma once
// Internal: charts with axes (training curves, the bars of the learning animation, the embedding map).

#include <opencv2/core.hpp>

#include <functional>
#include <string>
#include <vector>

namespace attention::pictures::detail {

/// Okabe-Ito colour-blind-safe palette (BGR): blue, orange, bluish green, vermillion, reddish purple, sky blue,
/// black, yellow. (Defined in chart.cpp, not inline here: see colour.h.)
extern const std::vector<cv::Scalar> kPalette;

/// A linear axis from `low` to `high` with its ticks and how to label them.
struct Axis {
  double low = 0;
  double high = 1;
  std::vector<double> ticks;
  std::function<std::string(double)> label;
  std::string title;
};
/// About `tick_count` round ticks from `low` to `high`, labelled with the decimals their step needs (as
/// percentages of fractions when `percent`).
Axis make_axis(double low, double high, int tick_count, bool percent, const std::string& title);

/// A chart image with a plot area of `plot` size: its title above, y axis on the left, x axis below, and
/// `below` px of room under the x axis title (for a legend).
struct Chart {
  cv::Mat image;
  cv::Rect plot;

  /// The image column of `value` on `axis` (a little past the plot's ends at most).
  int x(const Axis& axis, double value) const;
  /// The image row of `value` on `axis`.
  int y(const Axis& axis, double value) const;
};
Chart make_chart(const std::string& title, cv::Size plot, const Axis& x_axis, const Axis& y_axis, int below);

/// A dashed line (OpenCV has none).
void dashed_line(cv::Mat& image, cv::Point from, cv::Point to, const cv::Scalar& colour, int thickness);

}  // namespace attention::pictures::detail
