#include "layout.h"

#include "colour.h"
#include "text.h"

#include <algorithm>

namespace attention::pictures::detail {
namespace {

/// The overlapping rectangles of `source` placed at `top_left` and of `target`, in each one's coordinates.
bool overlap(const cv::Mat& target, const cv::Mat& source, cv::Point top_left, cv::Rect& in_target,
             cv::Rect& in_source) {
  in_target = cv::Rect(top_left, source.size()) & cv::Rect(0, 0, target.cols, target.rows);
  if (in_target.empty()) {
    return false;
  }
  in_source = cv::Rect(in_target.tl() - top_left, in_target.size());
  return true;
}

}  // namespace

void paste_darker(cv::Mat& target, const cv::Mat& source, cv::Point top_left) {
  cv::Rect in_target, in_source;
  if (overlap(target, source, top_left, in_target, in_source)) {
    cv::Mat roi = target(in_target);
    cv::min(roi, source(in_source), roi);
  }
}

void paste(cv::Mat& target, const cv::Mat& source, cv::Point top_left) {
  cv::Rect in_target, in_source;
  if (overlap(target, source, top_left, in_target, in_source)) {
    source(in_source).copyTo(target(in_target));
  }
}

Figure compose(const std::string& title, const std::vector<std::string>& subtitle, const std::vector<Panel>& panels,
               int columns, const Panel* colour_bar, int gap) {
  constexpr int kMargin = 20;
  const std::string title_text = sanitize(title, 110);
  int header = title_text.empty() ? 0 : line_height(kTitle) + 8;
  int header_width = title_text.empty() ? 0 : text_width(title_text, kTitle) + 6;
  std::vector<std::string> lines;
  for (const auto& line : subtitle) {
    lines.push_back(sanitize(line, 140));
    header_width = std::max(header_width, text_width(lines.back(), kSubtitle));
    header += line_height(kSubtitle) + 4;
  }
  if (header > 0) {
    header += 12;
  }

  columns = std::max(1, std::min<int>(columns, static_cast<int>(panels.size())));
  const int rows = static_cast<int>((panels.size() + columns - 1) / columns);
  std::vector<int> column_width(static_cast<size_t>(columns), 0), row_height(static_cast<size_t>(rows), 0);
  for (size_t i = 0; i < panels.size(); ++i) {
    auto& w = column_width[i % static_cast<size_t>(columns)];
    auto& h = row_height[i / static_cast<size_t>(columns)];
    w = std::max(w, panels[i].image.cols);
    h = std::max(h, panels[i].image.rows);
  }
  int grid_width = 0, grid_height = 0;
  for (const int w : column_width) {
    grid_width += w;
  }
  for (const int h : row_height) {
    grid_height += h;
  }
  grid_width += gap * (columns - 1);
  grid_height += gap * (rows - 1);

  const int grid_top = kMargin + header;
  cv::Point bar_at;
  int content_width = grid_width, content_bottom = grid_top + grid_height;
  if (colour_bar != nullptr) {
    const int first_cells_top = panels.empty() ? 0 : panels[0].cells.y;
    bar_at = cv::Point(kMargin + grid_width + 24, std::max(grid_top, grid_top + first_cells_top - colour_bar->cells.y));
    content_width += 24 + colour_bar->image.cols;
    content_bottom = std::max(content_bottom, bar_at.y + colour_bar->image.rows);
  }
  const int width = kMargin + std::max(content_width, header_width) + kMargin;
  const int height = content_bottom + kMargin;
  Figure figure{cv::Mat(height, width, CV_8UC3, kWhite), {}};

  int y = kMargin;
  if (!title_text.empty()) {
    draw_text(figure.image, title_text, cv::Point(kMargin, y), kTitle);
    y += line_height(kTitle) + 8;
  }
  for (const auto& line : lines) {
    draw_text(figure.image, line, cv::Point(kMargin, y), kSubtitle);
    y += line_height(kSubtitle) + 4;
  }
  int top = grid_top;
  for (int r = 0; r < rows; ++r) {
    int left = kMargin;
    for (int c = 0; c < columns; ++c) {
      const size_t i = static_cast<size_t>(r) * static_cast<size_t>(columns) + static_cast<size_t>(c);
      if (i < panels.size()) {
        paste(figure.image, panels[i].image, cv::Point(left, top));
        figure.areas.push_back(panels[i].cells + cv::Point(left, top));
      }
      left += column_width[static_cast<size_t>(c)] + gap;
    }
    top += row_height[static_cast<size_t>(r)] + gap;
  }
  if (colour_bar != nullptr) {
    paste(figure.image, colour_bar->image, bar_at);
  }
  return figure;
}

}  // namespace attention::pictures::detail
