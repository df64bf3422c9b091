#include "chart.h"

#include "colour.h"
#include "layout.h"
#include "text.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace attention::pictures::detail {
namespace {

const cv::Scalar kGrid(232, 232, 232);

/// Where `value` lies on `axis`, from 0 at its low end to 1 at its high end, clamped a little past them.
double position(const Axis& axis, double value) {
  const double t = axis.high > axis.low ? (value - axis.low) / (axis.high - axis.low) : 0.5;
  return std::clamp(t, -0.02, 1.02);
}

}  // namespace

const std::vector<cv::Scalar> kPalette = {{178, 114, 0},   {0, 159, 230},  {115, 158, 0}, {0, 94, 213},
                                          {167, 121, 204}, {233, 180, 86}, {0, 0, 0},     {66, 228, 240}};

Axis make_axis(double low, double high, int tick_count, bool percent, const std::string& title) {
  Axis axis{low, high, nice_ticks(low, high, tick_count), {}, title};
  const double step = axis.ticks.size() > 1 ? axis.ticks[1] - axis.ticks[0] : std::abs(high - low);
  if (percent) {
    const int decimals = decimals_for_step(step * 100);
    axis.label = [decimals](double v) { return format_number(v * 100, decimals) + "%"; };
  } else {
    const int decimals = decimals_for_step(step);
    axis.label = [decimals](double v) { return format_number(v, decimals); };
  }
  return axis;
}

int Chart::x(const Axis& axis, double value) const {
  return plot.x + static_cast<int>(std::lround(position(axis, value) * (plot.width - 1)));
}

int Chart::y(const Axis& axis, double value) const {
  return plot.y + plot.height - 1 - static_cast<int>(std::lround(position(axis, value) * (plot.height - 1)));
}

Chart make_chart(const std::string& title, cv::Size plot, const Axis& x_axis, const Axis& y_axis, int below) {
  const int lh = line_height(kText);
  int y_tick_width = 0;
  for (const double tick : y_axis.ticks) {
    y_tick_width = std::max(y_tick_width, text_width(y_axis.label(tick), kText));
  }
  const std::string caption = sanitize(title, 60);
  const int top = caption.empty() ? 8 : line_height(kCaption) + 10;
  const int left = (y_axis.title.empty() ? 0 : lh + 8) + y_tick_width + 10;
  const int x_tick_overhang = x_axis.ticks.empty() ? 0 : text_width(x_axis.label(x_axis.ticks.back()), kText) / 2;
  const int width = left + plot.width + std::max(16, x_tick_overhang + 4);
  const int height = top + plot.height + 6 + lh + 6 + (x_axis.title.empty() ? 0 : lh + 6) + below;
  Chart chart{cv::Mat(height, width, CV_8UC3, kWhite), cv::Rect(left, top, plot.width, plot.height)};
  cv::Mat& image = chart.image;
  if (!caption.empty()) {
    draw_text_centred(image, caption, left + plot.width / 2, 2, kCaption);
  }
  for (const double tick : y_axis.ticks) {
    const int y = chart.y(y_axis, tick);
    cv::line(image, cv::Point(left, y), cv::Point(left + plot.width - 1, y), kGrid, 1);
    cv::line(image, cv::Point(left - 4, y), cv::Point(left, y), kAxisGrey, 1);
    const auto text = y_axis.label(tick);
    draw_text(image, text, cv::Point(left - 7 - text_width(text, kText), y - lh / 2), kText);
  }
  const int bottom = top + plot.height;
  for (const double tick : x_axis.ticks) {
    const int x = chart.x(x_axis, tick);
    cv::line(image, cv::Point(x, top), cv::Point(x, bottom - 1), kGrid, 1);
    cv::line(image, cv::Point(x, bottom), cv::Point(x, bottom + 4), kAxisGrey, 1);
    draw_text_centred(image, x_axis.label(tick), x, bottom + 6, kText);
  }
  cv::rectangle(image, cv::Rect(left - 1, top - 1, plot.width + 2, plot.height + 2), kAxisGrey, 1);
  if (!x_axis.title.empty()) {
    draw_text_centred(image, sanitize(x_axis.title, 60), left + plot.width / 2, bottom + 6 + lh + 4, kText);
  }
  if (!y_axis.title.empty()) {
    const auto vertical = rotated_text(sanitize(y_axis.title, 60), kText);
    paste_darker(image, vertical, cv::Point(2, top + std::max(0, (plot.height - vertical.rows) / 2)));
  }
  return chart;
}

/// A dashed line (OpenCV has none).
void dashed_line(cv::Mat& image, cv::Point from, cv::Point to, const cv::Scalar& colour, int thickness) {
  const double length = std::hypot(to.x - from.x, to.y - from.y);
  constexpr double kOn = 9, kOff = 6;
  for (double start = 0; start < length; start += kOn + kOff) {
    const double end = std::min(length, start + kOn);
    const auto at = [&](double d) {
      const double t = length > 0 ? d / length : 0;
      return cv::Point(static_cast<int>(std::lround(from.x + t * (to.x - from.x))),
                       static_cast<int>(std::lround(from.y + t * (to.y - from.y))));
    };
    cv::line(image, at(start), at(end), colour, thickness, cv::LINE_AA);
  }
}

}  // namespace attention::pictures::detail
