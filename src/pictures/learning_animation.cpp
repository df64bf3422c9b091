// How one attention row changes during training: the frames of the animation, and the frame strip.
#include "render.h"

#include "chart.h"
#include "colour.h"
#include "layout.h"
#include "matrix.h"
#include "panel.h"
#include "text.h"

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace attention::pictures::detail {
namespace {

void check_frames(const at::Tensor& frames, const std::vector<std::string>& words,
                  const std::vector<std::string>& frame_names, const AnimationOptions& options) {
  check_matrix(frames, 2, "animation frames", "[frames, words]",
               Labels{frame_names.size(), "frame names", "frames (rows)"},
               Labels{words.size(), "words", "words (columns)"});
  check_index(options.query, words.size(), "query");
  check_index(options.target, words.size(), "target");
  if (!(options.frames_per_second > 0) || !std::isfinite(options.frames_per_second)) {
    throw std::invalid_argument("frames_per_second must be > 0, got " + format_number(options.frames_per_second, 3));
  }
}

}  // namespace

Figure render_learning_strip(const at::Tensor& frames, const std::vector<std::string>& words,
                             const std::vector<std::string>& frame_names, const AnimationOptions& options) {
  check_frames(frames, words, frame_names, options);
  constexpr int64_t kMostRows = 60;
  const auto count = frames.size(0);
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < std::min(count, kMostRows); ++i) {
    const auto index = count <= kMostRows
                           ? i
                           : static_cast<int64_t>(std::llround(static_cast<double>(i) * (count - 1) / (kMostRows - 1)));
    if (kept.empty() || kept.back() != index) {
      kept.push_back(index);
    }
  }
  std::vector<std::string> names;
  for (const auto index : kept) {
    names.push_back(frame_names[static_cast<size_t>(index)]);
  }
  const auto matrix = to_matrix(frames.detach().to(torch::kCPU).index_select(0, torch::tensor(kept)));
  PanelSpec spec;
  spec.matrix = &matrix;
  spec.row_labels = names;
  spec.column_labels = words;
  spec.scale = make_scale(0, 1, ColourMap::Viridis, "attention weight");
  spec.cell = cell_size(matrix.rows, matrix.cols, true, true);
  spec.show_values = values_fit(matrix.rows, matrix.cols, spec.cell);
  spec.crossed_column = static_cast<int>(options.query);
  spec.outlined_column = static_cast<int>(options.target);
  const auto panel = render_panel(spec);
  const auto bar = render_colour_bar(spec.scale, colour_bar_height(panel.cells.height));
  std::vector<std::string> subtitle = {"rows: the moments of training, first at the top; columns: the words (keys)"};
  std::string marks;
  if (options.query >= 0) {
    marks += "crossed out: the query";
  }
  if (options.target >= 0) {
    marks += std::string(marks.empty() ? "" : "; ") + "outlined in red: the right answer";
  }
  if (static_cast<int64_t>(kept.size()) < count) {
    marks += std::string(marks.empty() ? "" : "; ") + std::to_string(kept.size()) + " of " + std::to_string(count) +
             " frames shown";
  }
  if (!marks.empty()) {
    subtitle.push_back(marks);
  }
  return compose(options.title, subtitle, {panel}, 1, &bar);
}

std::vector<cv::Mat> render_learning_frames(const at::Tensor& frames, const std::vector<std::string>& words,
                                            const std::vector<std::string>& frame_names,
                                            const AnimationOptions& options) {
  check_frames(frames, words, frame_names, options);
  const auto matrix = to_matrix(frames);
  const int lh = line_height(kText);
  const int slot = std::clamp(560 / matrix.cols, 24, 64);
  std::vector<std::string> labels;
  int widest = 0;
  for (const auto& word : words) {
    labels.push_back(sanitize(word));
    widest = std::max(widest, text_width(labels.back(), kText));
  }
  const bool rotate = widest + 6 > slot;
  const int label_area = rotate ? widest + 8 : lh + 6;

  const Axis y_axis = make_axis(0, 1, 4, false, "attention weight");
  const Axis x_axis{0, 1, {}, [](double) { return std::string(); }, ""};
  const cv::Size plot(slot * matrix.cols, 240);
  const int header = 14 + line_height(kTitle) + 8 + line_height(kTitle) + 16;
  const Chart blank = make_chart("", plot, x_axis, y_axis, label_area);
  const std::string title = sanitize(options.title, 110);
  const int content_width = std::max({blank.image.cols, text_width(title, kTitle)}) + 40;
  const int width = (content_width + 15) / 16 * 16;
  const int height = (header + blank.image.rows + 4 + line_height(kSubtitle) + 12 + 15) / 16 * 16;

  std::vector<cv::Mat> images;
  for (int f = 0; f < matrix.rows; ++f) {
    cv::Mat image(height, width, CV_8UC3, kWhite);
    draw_text(image, title, cv::Point(20, 14), kTitle);
    draw_text(image, sanitize(frame_names[static_cast<size_t>(f)], 60), cv::Point(20, 14 + line_height(kTitle) + 8),
              kTitle);
    Chart chart{blank.image.clone(), blank.plot};
    const int bottom = chart.plot.y + chart.plot.height;
    for (int c = 0; c < matrix.cols; ++c) {
      const double value = matrix.at(f, c);
      const int left = chart.plot.x + c * slot;
      if (std::isfinite(value)) {
        const int top = chart.y(y_axis, std::clamp(value, 0.0, 1.0));
        const auto colour = colour_of(value, 0, 1, ColourMap::Viridis);
        cv::rectangle(chart.image, cv::Rect(left + 3, top, slot - 6, std::max(1, bottom - top)), cv::Scalar(colour),
                      cv::FILLED);
        if (slot >= 40 && c != options.query) {
          draw_text_centred(chart.image, format_number(value, 2), left + slot / 2, top - lh - 2, kSmall);
        }
      }
      if (c == options.target) {
        cv::rectangle(chart.image, cv::Rect(left + 1, chart.plot.y + 1, slot - 2, chart.plot.height - 2), kRed, 2);
      }
      if (c == options.query) {
        const int mid = left + slot / 2;
        cv::line(chart.image, cv::Point(mid - 5, bottom - 12), cv::Point(mid + 5, bottom - 2), kAxisGrey, 1,
                 cv::LINE_AA);
        cv::line(chart.image, cv::Point(mid + 5, bottom - 12), cv::Point(mid - 5, bottom - 2), kAxisGrey, 1,
                 cv::LINE_AA);
      }
      auto style = kText;
      if (c == options.target) {
        style.colour = kRed;
      } else if (c == options.query) {
        style.colour = cv::Scalar(140, 140, 140);
      }
      const int labels_top = bottom + 6;
      const auto& label = labels[static_cast<size_t>(c)];
      if (rotate) {
        cv::Mat vertical = rotated_text(label, style);
        paste_darker(chart.image, vertical, cv::Point(left + (slot - vertical.cols) / 2, labels_top));
      } else {
        draw_text_centred(chart.image, label, left + slot / 2, labels_top, style);
      }
    }
    paste(image, chart.image, cv::Point(20, header));
    std::string legend = "bars: the query's attention over the words";
    if (options.query >= 0) {
      legend += "; x: the query";
    }
    if (options.target >= 0) {
      legend += "; red: the right answer";
    }
    draw_text(image, legend, cv::Point(20, header + chart.image.rows + 4), kSubtitle);
    images.push_back(image);
  }
  return images;
}

}  // namespace attention::pictures::detail
