#pragma once
// Internal drawing toolkit of the pictures: tensors to matrices, text, colour scales and heatmap panels.

#include "render.h"

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace attention::pictures::detail {

// ---- Data ----------------------------------------------------------------------------------------------

/// A float matrix copied from a tensor (row-major).
struct Matrix {
  int rows = 0;
  int cols = 0;
  std::vector<float> values;
  float at(int r, int c) const { return values[static_cast<size_t>(r) * static_cast<size_t>(cols) + c]; }
};

/// "[2, 3, 4]"
std::string shape_text(const at::Tensor& tensor);
/// Checks that `tensor` is defined and has rank `rank`; std::invalid_argument "`what` must be `expected`, got ...".
void check_rank(const at::Tensor& tensor, int64_t rank, const std::string& what, const std::string& expected);
/// Checks that a `count` of labels matches the `size` of a matrix dimension; std::invalid_argument naming both.
void check_labels(size_t count, int64_t size, const std::string& labels, const std::string& dimension,
                  const at::Tensor& tensor);
/// Throws std::invalid_argument when a dimension of `tensor` is 0.
void check_not_empty(const at::Tensor& tensor, const std::string& what);
/// Detached float32 CPU copy of a rank-2 tensor.
Matrix to_matrix(const at::Tensor& tensor);
/// Smallest and largest finite value of the matrices; {0, 1} when there is none.
std::pair<double, double> finite_range(const std::vector<const Matrix*>& matrices);

// ---- Text ----------------------------------------------------------------------------------------------

struct TextStyle {
  double scale = 0.45;
  int thickness = 1;
  cv::Scalar colour = cv::Scalar(30, 30, 30);
};
extern const TextStyle kText;      // labels, ticks
extern const TextStyle kSmall;     // cell values
extern const TextStyle kTitle;     // titles
extern const TextStyle kSubtitle;  // "rows: queries, columns: keys"
extern const TextStyle kCaption;   // tile captions

/// Printable ASCII: other bytes become '?' (one per UTF-8 character), cut to 18 characters with "..".
std::string sanitize(const std::string& label, size_t max_length = 18);
/// Height of a line of text in `style` (ascent + descent), the same for every text.
int line_height(const TextStyle& style);
int text_width(const std::string& text, const TextStyle& style);
/// Draws `text` with its box's top-left corner at `top_left`.
void draw_text(cv::Mat& image, const std::string& text, cv::Point top_left, const TextStyle& style);
/// Draws text centred horizontally on `centre_x`.
void draw_text_centred(cv::Mat& image, const std::string& text, int centre_x, int top, const TextStyle& style);
/// The text on its own white image, rotated 90° counter-clockwise (reads bottom to top).
cv::Mat rotated_text(const std::string& text, const TextStyle& style);
/// Copies `source` into `target` at `top_left`, keeping the darker pixel of each (text over white), clipped.
void paste_darker(cv::Mat& target, const cv::Mat& source, cv::Point top_left);
/// Copies `source` into `target` at `top_left`, clipped.
void paste(cv::Mat& target, const cv::Mat& source, cv::Point top_left);
/// "%.*f" without "-0.00".
std::string format_number(double value, int decimals);
/// Decimals that tell apart values of a scale whose largest magnitude is `amplitude` (cells) or whose ticks are
/// `step` apart (axes).
int decimals_for_amplitude(double amplitude);
int decimals_for_step(double step);
/// Round tick positions covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten, about `count` of them.
std::vector<double> nice_ticks(double low, double high, int count);

// ---- Colour scales and panels --------------------------------------------------------------------------

struct Scale {
  double low = 0;
  double high = 1;
  ColourMap map = ColourMap::Viridis;
  std::string label;
};
/// A scale from low to high, widened when they are equal (a constant matrix) so that it has a width.
Scale make_scale(double low, double high, ColourMap map, const std::string& label);


/// One matrix drawn as coloured cells with its labels.
struct PanelSpec {
  const Matrix* matrix = nullptr;
  std::vector<std::string> row_labels;     ///< empty: numbered from 0 at a readable step
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
struct Panel {
  cv::Mat image;
  cv::Rect cells;  ///< the cells' rectangle in `image`
};
Panel render_panel(const PanelSpec& spec);
/// A vertical colour bar, `height` px tall, with ticks at round values and the scale's label; `cells` is the bar.
Panel render_colour_bar(const Scale& scale, int height);
/// Colour bar height for panels whose cells are `cells_height` tall.
int colour_bar_height(int cells_height);

/// The width of the row labels of a panel (for aligning several panels).
int row_label_width(const std::vector<std::string>& labels, int rows, int cell_height);

/// Cell sizes for a rows x cols matrix: about 560 px across at most, 56 px per cell at most, and at least
/// 18 px along a labelled axis (so a label fits) or 3 px along a numbered one.
cv::Size cell_size(int rows, int cols, bool rows_labelled, bool cols_labelled);
/// Whether cell values are printed: at most 12 x 12 cells of at least 40 px.
bool values_fit(int rows, int cols, cv::Size cell);

/// Lays out a figure: title, subtitle lines, then `panels` in a grid of `columns` columns (row by row), then
/// `colour_bar` (may be null) to the right, its bar top-aligned with the first panel's cells. The figure's
/// areas are the panels' cells, in order.
Figure compose(const std::string& title, const std::vector<std::string>& subtitle, const std::vector<Panel>& panels,
               int columns, const Panel* colour_bar, int gap = 28);

/// Largest number of rows or columns drawn; more throws std::invalid_argument (a picture nobody could read).
constexpr int kMaxCells = 2048;

}  // namespace attention::pictures::detail
