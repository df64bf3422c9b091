#include "panel.h"

#include "text.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>

namespace attention::pictures::detail {
namespace {

const cv::Scalar kCross(215, 215, 215);

double luminance(const cv::Vec3b& bgr) { return 0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2]; }

/// The smallest round step (1, 2, 4, 5, 8, 10, ...) at which every step-th of `count` cells of `cell` px leaves
/// `spacing` px between two texts.
int text_step(int count, int cell, int spacing) {
  static const int steps[] = {1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 250, 256, 500, 512, 1000};
  for (const int candidate : steps) {
    if (candidate * cell >= spacing) {
      return candidate;
    }
  }
  return std::max(count, 1);
}

/// Positions and texts of the labels along one axis, at a step that leaves `spacing` px between them: the labels
/// (all of them when their cells are at least `label_spacing` px, else thinned to every step-th), or numbers.
std::vector<std::pair<int, std::string>> axis_texts(const std::vector<std::string>& labels, int count, int cell,
                                                    int spacing, int label_spacing) {
  std::vector<std::pair<int, std::string>> texts;
  if (!labels.empty()) {
    for (int i = 0; i < count; i += text_step(count, cell, label_spacing)) {
      texts.emplace_back(i, sanitize(labels[static_cast<size_t>(i)], 28));
    }
    return texts;
  }
  for (int i = 0; i < count; i += text_step(count, cell, spacing)) {
    texts.emplace_back(i, std::to_string(i));
  }
  return texts;
}

int number_spacing(int count) { return text_width(std::to_string(std::max(count - 1, 0)), kText) + 10; }

void hatch(cv::Mat& image, const cv::Rect& cell) {
  cv::Mat roi = image(cell);
  for (int k = -cell.height; k < cell.width; k += 6) {
    cv::line(roi, cv::Point(k, cell.height), cv::Point(k + cell.height, 0), kWhite, 1, cv::LINE_AA);
  }
}

}  // namespace

int row_label_width(const std::vector<std::string>& labels, int rows, int cell_height) {
  int width = 0;
  const int spacing = line_height(kText) + 2;
  for (const auto& text : axis_texts(labels, rows, cell_height, spacing, spacing)) {
    width = std::max(width, text_width(text.second, kText));
  }
  return width;
}

cv::Size cell_size(int rows, int cols, bool rows_labelled, bool cols_labelled, int across, bool thin_labels) {
  constexpr int kLargest = 56;
  const int smallest_labelled = thin_labels ? 6 : std::max(18, line_height(kText) + 2);
  const auto side = [&](int count, bool labelled) {
    const int fitted = count > 0 ? across / count : kLargest;
    return std::clamp(fitted, labelled ? smallest_labelled : 3, kLargest);
  };
  return {side(cols, cols_labelled), side(rows, rows_labelled)};
}

bool values_fit(int rows, int cols, cv::Size cell) {
  return rows <= 12 && cols <= 12 && cell.width >= 40 && cell.height >= 40;
}

Panel render_panel(const PanelSpec& spec) {
  const Matrix& m = *spec.matrix;
  const int cw = spec.cell.width, ch = spec.cell.height;
  const int lh = line_height(kText);

  const auto row_texts = axis_texts(spec.row_labels, m.rows, ch, lh + 2, lh + 2);
  int label_width = spec.row_label_width;
  for (const auto& text : row_texts) {
    label_width = std::max(label_width, text_width(text.second, kText));
  }
  // Labels thinned so that rotated ones do not overlap (those that fit across their column fit rotated too).
  const auto column_texts = axis_texts(spec.column_labels, m.cols, cw, number_spacing(m.cols), lh + 2);
  int widest_column = 0;
  for (const auto& text : column_texts) {
    widest_column = std::max(widest_column, text_width(text.second, kText));
  }
  const bool rotate = !spec.column_labels.empty() && widest_column + 4 > cw;
  const int column_area = rotate ? widest_column + 8 : lh + 6;
  const std::string caption = sanitize(spec.caption, 60);
  const int caption_height = caption.empty() ? 0 : line_height(kCaption) + 6;

  // Row labels are centred on their rows: cells lower than a line need room above the first row.
  const int x0 = label_width + 8, y0 = caption_height + 2 + std::max(0, (lh - ch) / 2 + 1);
  const int cells_width = m.cols * cw, cells_height = m.rows * ch;
  const int caption_width = caption.empty() ? 0 : text_width(caption, kCaption);
  // Horizontal numbers may reach past the last column by half their width.
  const int width = x0 + std::max({cells_width, caption_width, cells_width + widest_column / 2}) + 4;
  const int height = y0 + cells_height + 4 + column_area;
  Panel panel{cv::Mat(height, width, CV_8UC3, kWhite), cv::Rect(x0, y0, cells_width, cells_height)};
  cv::Mat& image = panel.image;

  if (!caption.empty()) {
    draw_text_centred(image, caption, x0 + cells_width / 2, 0, kCaption);
  }
  const double amplitude = std::max(std::abs(spec.scale.low), std::abs(spec.scale.high));
  const int decimals = decimals_for_amplitude(amplitude);
  const int small_height = line_height(kSmall);
  for (int r = 0; r < m.rows; ++r) {
    for (int c = 0; c < m.cols; ++c) {
      const cv::Rect cell(x0 + c * cw, y0 + r * ch, cw, ch);
      const double value = m.at(r, c);
      const auto colour = colour_of(value, spec.scale.low, spec.scale.high, spec.scale.map);
      cv::rectangle(image, cell, cv::Scalar(colour), cv::FILLED);
      if (spec.shade_causal && c > r) {
        hatch(image, cell);
      }
      const bool crossed = c == spec.crossed_column ||
                           std::find(spec.crossed.begin(), spec.crossed.end(), cv::Point(c, r)) != spec.crossed.end();
      if (spec.show_values && !crossed) {
        auto style = kSmall;
        style.colour = luminance(colour) > 150 ? cv::Scalar(20, 20, 20) : kWhite;
        const std::string text = std::isnan(value)   ? "nan"
                                 : std::isinf(value) ? (value > 0 ? "inf" : "-inf")
                                                     : format_number(value, decimals);
        draw_text_centred(image, text, cell.x + cw / 2, cell.y + (ch - small_height) / 2, style);
      }
    }
  }
  for (const auto& point : spec.crossed) {
    if (point.x >= 0 && point.x < m.cols && point.y >= 0 && point.y < m.rows) {
      const cv::Rect cell(x0 + point.x * cw, y0 + point.y * ch, cw, ch);
      const int inset = std::max(2, std::min(cw, ch) / 5);
      cv::line(image, cell.tl() + cv::Point(inset, inset), cell.br() - cv::Point(inset + 1, inset + 1), kCross, 1,
               cv::LINE_AA);
      cv::line(image, cv::Point(cell.x + cw - inset - 1, cell.y + inset),
               cv::Point(cell.x + inset, cell.y + ch - inset - 1), kCross, 1, cv::LINE_AA);
    }
  }
  if (spec.crossed_column >= 0 && spec.crossed_column < m.cols) {
    const cv::Rect column(x0 + spec.crossed_column * cw, y0, cw, cells_height);
    cv::line(image, column.tl() + cv::Point(3, 3), column.br() - cv::Point(4, 4), kCross, 1, cv::LINE_AA);
    cv::line(image, cv::Point(column.x + cw - 4, column.y + 3), cv::Point(column.x + 3, column.y + cells_height - 4),
             kCross, 1, cv::LINE_AA);
  }
  if (spec.outlined_column >= 0 && spec.outlined_column < m.cols) {
    cv::rectangle(image, cv::Rect(x0 + spec.outlined_column * cw + 1, y0 + 1, cw - 2, cells_height - 2), kRed, 2);
  }
  for (const auto& point : spec.outlined) {
    if (point.x >= 0 && point.x < m.cols && point.y >= 0 && point.y < m.rows) {
      cv::rectangle(image, cv::Rect(x0 + point.x * cw + 1, y0 + point.y * ch + 1, cw - 2, ch - 2), kRed, 2);
    }
  }
  cv::rectangle(image, cv::Rect(x0 - 1, y0 - 1, cells_width + 2, cells_height + 2), kAxisGrey, 1);

  for (const auto& [row, text] : row_texts) {
    draw_text(image, text, cv::Point(x0 - 6 - text_width(text, kText), y0 + row * ch + (ch - lh) / 2), kText);
  }
  const int labels_top = y0 + cells_height + 4;
  for (const auto& [column, text] : column_texts) {
    const int centre = x0 + column * cw + cw / 2;
    if (rotate) {
      const auto vertical = rotated_text(text, kText);
      paste_darker(image, vertical, cv::Point(centre - vertical.cols / 2, labels_top));
    } else {
      draw_text_centred(image, text, centre, labels_top, kText);
    }
  }
  return panel;
}

}  // namespace attention::pictures::detail
