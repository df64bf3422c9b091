// Training curves: charts of values per epoch, with their legends.
#include "render.h"

#include "chart.h"
#include "layout.h"
#include "matrix.h"
#include "text.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace attention::pictures::detail {

Figure render_training_curves(const std::vector<CurvePanel>& panels, const std::string& title) {
  if (panels.empty()) {
    throw std::invalid_argument("no charts to draw");
  }
  size_t epochs = 1;
  for (const auto& panel : panels) {
    if (panel.curves.empty()) {
      throw std::invalid_argument("chart '" + panel.title + "' has no curves");
    }
    for (const auto& curve : panel.curves) {
      if (curve.values.empty()) {
        throw std::invalid_argument("curve '" + curve.name + "' of chart '" + panel.title + "' has no values");
      }
      epochs = std::max(epochs, curve.values.size());
    }
  }
  const double last_epoch = std::max<double>(2, static_cast<double>(epochs));
  Axis x_axis = make_axis(1, last_epoch, 6, false, "epoch");
  x_axis.ticks.erase(std::remove_if(x_axis.ticks.begin(), x_axis.ticks.end(),
                                    [](double tick) { return tick < 1 || tick != std::floor(tick); }),
                     x_axis.ticks.end());
  x_axis.label = [](double v) { return format_number(v, 0); };

  const int lh = line_height(kText);
  const cv::Size plot(440, 260);
  std::vector<Panel> charts;
  for (const auto& panel : panels) {
    double low = std::numeric_limits<double>::infinity(), high = -low;
    for (const auto& curve : panel.curves) {
      for (const double value : curve.values) {
        if (std::isfinite(value)) {
          low = std::min(low, value);
          high = std::max(high, value);
        }
      }
    }
    if (low > high) {
      low = 0;
      high = 1;
    }
    if (low == high) {
      const double pad = std::abs(low) > 0 ? std::abs(low) * 0.1 : 0.5;
      low -= pad;
      high += pad;
    }
    const double room = (high - low) * 0.06;
    low = or_default(panel.y_min, low - room);
    high = or_default(panel.y_max, high + room);
    if (!(high > low)) {
      throw std::invalid_argument("chart '" + panel.title + "': y_max must be above y_min");
    }
    const Axis y_axis = make_axis(low, high, 5, panel.percent, panel.y_label);

    // The legend, under the x axis, wrapped to the chart's width.
    struct Entry {
      std::string name;
      cv::Point at;
    };
    std::vector<Entry> entries;
    const int legend_width = plot.width + 60;
    int x = 0, rows = 1;
    for (const auto& curve : panel.curves) {
      const auto name = sanitize(curve.name, 40);
      const int width = 30 + text_width(name, kText) + 18;
      if (x > 0 && x + width > legend_width) {
        x = 0;
        ++rows;
      }
      entries.push_back({name, cv::Point(x, (rows - 1) * (lh + 6))});
      x += width;
    }
    Chart chart = make_chart(panel.title, plot, x_axis, y_axis, 8 + rows * (lh + 6));
    for (size_t c = 0; c < panel.curves.size(); ++c) {
      const auto& values = panel.curves[c].values;
      const auto& colour = kPalette[c % kPalette.size()];
      if (values.size() == 1) {
        if (std::isfinite(values[0])) {
          const int y = chart.y(y_axis, values[0]);
          dashed_line(chart.image, cv::Point(chart.x(x_axis, 1), y), cv::Point(chart.x(x_axis, last_epoch), y), colour,
                      2);
        }
        continue;
      }
      for (size_t i = 0; i < values.size(); ++i) {
        if (!std::isfinite(values[i])) {
          continue;
        }
        const cv::Point point(chart.x(x_axis, static_cast<double>(i + 1)), chart.y(y_axis, values[i]));
        if (i > 0 && std::isfinite(values[i - 1])) {
          const cv::Point previous(chart.x(x_axis, static_cast<double>(i)), chart.y(y_axis, values[i - 1]));
          cv::line(chart.image, previous, point, colour, 2, cv::LINE_AA);
        }
        if (values.size() <= 40) {
          cv::circle(chart.image, point, 3, colour, cv::FILLED, cv::LINE_AA);
        }
      }
    }
    const int legend_top = chart.plot.y + chart.plot.height + 6 + lh + 6 + lh + 10;
    for (size_t c = 0; c < entries.size(); ++c) {
      const cv::Point origin = entries[c].at + cv::Point(chart.plot.x - 40 > 0 ? chart.plot.x - 40 : 0, legend_top);
      const auto& colour = kPalette[c % kPalette.size()];
      const int y = origin.y + lh / 2;
      if (panel.curves[c].values.size() == 1) {
        dashed_line(chart.image, cv::Point(origin.x, y), cv::Point(origin.x + 24, y), colour, 2);
      } else {
        cv::line(chart.image, cv::Point(origin.x, y), cv::Point(origin.x + 24, y), colour, 2, cv::LINE_AA);
        cv::circle(chart.image, cv::Point(origin.x + 12, y), 3, colour, cv::FILLED, cv::LINE_AA);
      }
      draw_text(chart.image, entries[c].name, cv::Point(origin.x + 30, origin.y), kText);
    }
    charts.push_back(Panel{chart.image, chart.plot});
  }
  return compose(title, {}, charts, static_cast<int>(charts.size()), nullptr, 36);
}

}  // namespace attention::pictures::detail
