#pragma once
// Internal: a matrix drawn as coloured cells with its labels, and the sizes of its cells.

#include "colour.h"
#include "layout.h"
#include "matrix.h"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

/// One matrix drawn as coloured cells with its labels.
struct PanelSpec {
  const Matrix* matrix = nullptr;
  std::vector<std::string> row_labels;     ///< empty: numbered from 0 at a readable step; thinned alike when
                                           ///< its cells are lower than a line of text
  std::vector<std::string> column_labels;  ///< empty: numbered
  std::string caption;                     ///< above the cells
  Scale scale;
  cv::Size cell{40, 40};
  bool show_values = false;
  bool shade_causal = false;
  std::vector<cv::Point> outlined;  ///< cells (x = column, y = row) outlined in red
  std::vector<cv::Point> crossed;   ///< cells crossed out (their values are not printed)
  int outlined_column = -1;         ///< a whole column outlined in red, -1 for none
  int crossed_column = -1;          ///< a whole column crossed out, -1 for none
  int row_label_width = 0;          ///< at least this wide (to align panels)
};
Panel render_panel(const PanelSpec& spec);

/// The width of the row labels of a panel (for aligning several panels).
int row_label_width(const std::vector<std::string>& labels, int rows, int cell_height);

/// Cell sizes for a rows x cols matrix: about `across` px across at most, 56 px per cell at most, and at least
/// 18 px along a labelled axis (so a label fits) or 3 px along a numbered one. With `thin_labels`, labelled axes
/// go down to 6 px: render_panel then draws every second, fourth... label, as many as fit.
cv::Size cell_size(int rows, int cols, bool rows_labelled, bool cols_labelled, int across = 560,
                   bool thin_labels = false);
/// Whether cell values are printed: at most 12 x 12 cells of at least 40 px.
bool values_fit(int rows, int cols, cv::Size cell);

}  // namespace attention::pictures::detail
