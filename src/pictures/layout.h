#pragma once
// Internal: images placed in images, and a figure laid out from its title and panels.

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

/// A rendered picture: the image (8-bit BGR) and, for each matrix or chart drawn, the rectangle of its cells
/// (or plot area) in image coordinates, in drawing order.
struct Figure {
  cv::Mat image;
  std::vector<cv::Rect> areas;
};

/// One part of a figure: its image and the rectangle of its cells (or plot area) in that image.
struct Panel {
  cv::Mat image;
  cv::Rect cells;
};

/// Copies `source` into `target` at `top_left`, keeping the darker pixel of each (text over white), clipped.
void paste_darker(cv::Mat& target, const cv::Mat& source, cv::Point top_left);
/// Copies `source` into `target` at `top_left`, clipped.
void paste(cv::Mat& target, const cv::Mat& source, cv::Point top_left);

/// Lays out a figure: title, subtitle lines, then `panels` in a grid of `columns` columns (row by row), then
/// `colour_bar` (may be null) to the right, its bar top-aligned with the first panel's cells. The figure's
/// areas are the panels' cells, in order.
Figure compose(const std::string& title, const std::vector<std::string>& subtitle, const std::vector<Panel>& panels,
               int columns, const Panel* colour_bar, int gap = 28);

}  // namespace attention::pictures::detail
