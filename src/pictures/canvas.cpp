#include "canvas.h"

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace attention::pictures::detail {
namespace {

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
const cv::Vec3b kMissing(190, 190, 190);  // NaN and inf cells
const cv::Scalar kBorder(90, 90, 90);
const cv::Scalar kOutline(0, 0, 220);     // red (BGR)
const cv::Scalar kCross(215, 215, 215);

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

int ascent(const TextStyle& style) {
  int baseline = 0;
  return cv::getTextSize("H", kFont, style.scale, style.thickness, &baseline).height;
}

double luminance(const cv::Vec3b& bgr) {
  return 0.114 * bgr[0] + 0.587 * bgr[1] + 0.299 * bgr[2];
}

/// Positions and texts of the labels along one axis: all labels, or numbers at a step that leaves `spacing` px
/// between them.
std::vector<std::pair<int, std::string>> axis_texts(const std::vector<std::string>& labels, int count, int cell,
                                                    int spacing) {
  std::vector<std::pair<int, std::string>> texts;
  if (!labels.empty()) {
    for (int i = 0; i < count; ++i) {
      texts.emplace_back(i, sanitize(labels[static_cast<size_t>(i)], 28));
    }
    return texts;
  }
  static const int steps[] = {1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 250, 256, 500, 512, 1000};
  int step = count;
  for (const int candidate : steps) {
    if (candidate * cell >= spacing) {
      step = candidate;
      break;
    }
  }
  for (int i = 0; i < count; i += std::max(step, 1)) {
    texts.emplace_back(i, std::to_string(i));
  }
  return texts;
}

int number_spacing(int count) {
  return text_width(std::to_string(std::max(count - 1, 0)), kText) + 10;
}

void hatch(cv::Mat& image, const cv::Rect& cell) {
  cv::Mat roi = image(cell);
  for (int k = -cell.height; k < cell.width; k += 6) {
    cv::line(roi, cv::Point(k, cell.height), cv::Point(k + cell.height, 0), cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }
}

}  // namespace

const TextStyle kText{0.45, 1, cv::Scalar(30, 30, 30)};
const TextStyle kSmall{0.4, 1, cv::Scalar(30, 30, 30)};
const TextStyle kTitle{0.65, 2, cv::Scalar(20, 20, 20)};
const TextStyle kSubtitle{0.45, 1, cv::Scalar(80, 80, 80)};
const TextStyle kCaption{0.5, 1, cv::Scalar(20, 20, 20)};

// ---- Data ----------------------------------------------------------------------------------------------

std::string shape_text(const at::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

void check_rank(const at::Tensor& tensor, int64_t rank, const std::string& what, const std::string& expected) {
  if (!tensor.defined()) {
    throw std::invalid_argument(what + " must be " + expected + ", got an undefined tensor");
  }
  if (tensor.dim() != rank) {
    throw std::invalid_argument(what + " must be " + expected + " (rank " + std::to_string(rank) + "), got " +
                                shape_text(tensor));
  }
  if (tensor.is_complex()) {
    throw std::invalid_argument(what + " must be real, got a complex tensor");
  }
}

void check_labels(size_t count, int64_t size, const std::string& labels, const std::string& dimension,
                  const at::Tensor& tensor) {
  if (static_cast<int64_t>(count) != size) {
    throw std::invalid_argument(std::to_string(count) + " " + labels + " for " + std::to_string(size) + " " +
                                dimension + " of " + shape_text(tensor));
  }
}

void check_not_empty(const at::Tensor& tensor, const std::string& what) {
  for (const auto size : tensor.sizes()) {
    if (size == 0) {
      throw std::invalid_argument(what + " " + shape_text(tensor) + " is empty: nothing to draw");
    }
    if (size > kMaxCells) {
      throw std::invalid_argument(what + " " + shape_text(tensor) + " is too large to draw legibly (at most " +
                                  std::to_string(kMaxCells) + " per dimension)");
    }
  }
}

Matrix to_matrix(const at::Tensor& tensor) {
  const auto cpu = tensor.detach().to(torch::kCPU).to(torch::kFloat).contiguous();
  Matrix matrix;
  matrix.rows = static_cast<int>(cpu.size(0));
  matrix.cols = static_cast<int>(cpu.size(1));
  const float* data = cpu.data_ptr<float>();
  matrix.values.assign(data, data + cpu.numel());
  return matrix;
}

std::pair<double, double> finite_range(const std::vector<const Matrix*>& matrices) {
  double low = std::numeric_limits<double>::infinity(), high = -std::numeric_limits<double>::infinity();
  for (const auto* matrix : matrices) {
    for (const float value : matrix->values) {
      if (std::isfinite(value)) {
        low = std::min(low, static_cast<double>(value));
        high = std::max(high, static_cast<double>(value));
      }
    }
  }
  if (low > high) {
    return {0.0, 1.0};
  }
  return {low, high};
}

// ---- Text ----------------------------------------------------------------------------------------------

std::string sanitize(const std::string& label, size_t max_length) {
  std::string out;
  for (size_t i = 0; i < label.size();) {
    const auto c = static_cast<unsigned char>(label[i]);
    if (c < 0x80) {
      out += (c >= 32 && c < 127) ? static_cast<char>(c) : '?';
      ++i;
    } else {  // one '?' per UTF-8 character
      out += '?';
      ++i;
      while (i < label.size() && (static_cast<unsigned char>(label[i]) & 0xC0) == 0x80) {
        ++i;
      }
    }
  }
  if (out.size() > max_length && max_length > 2) {
    out = out.substr(0, max_length - 2) + "..";
  }
  return out;
}

int line_height(const TextStyle& style) {
  int baseline = 0;
  const auto size = cv::getTextSize("Hg", kFont, style.scale, style.thickness, &baseline);
  return size.height + baseline + 2;
}

int text_width(const std::string& text, const TextStyle& style) {
  int baseline = 0;
  return cv::getTextSize(text, kFont, style.scale, style.thickness, &baseline).width;
}

void draw_text(cv::Mat& image, const std::string& text, cv::Point top_left, const TextStyle& style) {
  cv::putText(image, text, cv::Point(top_left.x, top_left.y + ascent(style) + 1), kFont, style.scale, style.colour,
              style.thickness, cv::LINE_AA);
}

void draw_text_centred(cv::Mat& image, const std::string& text, int centre_x, int top, const TextStyle& style) {
  draw_text(image, text, cv::Point(centre_x - text_width(text, style) / 2, top), style);
}

cv::Mat rotated_text(const std::string& text, const TextStyle& style) {
  cv::Mat horizontal(line_height(style), text_width(text, style) + 2, CV_8UC3, cv::Scalar(255, 255, 255));
  draw_text(horizontal, text, cv::Point(1, 0), style);
  cv::Mat vertical;
  cv::rotate(horizontal, vertical, cv::ROTATE_90_COUNTERCLOCKWISE);
  return vertical;
}

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

std::string format_number(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text(buffer);
  if (text[0] == '-' && text.find_first_not_of("-0.") == std::string::npos) {
    text.erase(0, 1);  // "-0.00" → "0.00"
  }
  return text;
}

int decimals_for_amplitude(double amplitude) {
  return amplitude >= 100 ? 0 : amplitude >= 10 ? 1 : 2;
}

int decimals_for_step(double step) {
  if (!(step > 0) || !std::isfinite(step)) {
    return 2;
  }
  int exact = 4;
  for (int decimals = 0; decimals < 4; ++decimals) {
    const double scaled = step * std::pow(10.0, decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) {
      exact = decimals;
      break;
    }
  }
  const int readable = std::max(0, static_cast<int>(std::ceil(-std::log10(step))) + 1);
  return std::min(exact, readable);
}

std::vector<double> nice_ticks(double low, double high, int count) {
  const double span = high - low;
  if (!(span > 0) || !std::isfinite(span)) {
    return {low};
  }
  const double raw = span / std::max(count, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (const double multiple : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (multiple * magnitude >= raw * (1 - 1e-9)) {
      step = multiple * magnitude;
      break;
    }
  }
  std::vector<double> ticks;
  for (double k = std::ceil(low / step - 1e-9); k * step <= high + step * 1e-9; k += 1) {
    const double tick = k * step;
    ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return ticks;
}

// ---- Colour scales and panels --------------------------------------------------------------------------

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

int colour_bar_height(int cells_height) {
  return std::clamp(cells_height, 140, 360);
}

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
  Panel panel{cv::Mat(image_height, width, CV_8UC3, cv::Scalar(255, 255, 255)), cv::Rect(1, top, kBarWidth, height)};
  for (int y = 0; y < height; ++y) {
    const double t = height > 1 ? 1.0 - static_cast<double>(y) / (height - 1) : 1.0;
    const auto colour = colour_of(scale.low + t * (scale.high - scale.low), scale.low, scale.high, scale.map);
    cv::line(panel.image, cv::Point(1, top + y), cv::Point(kBarWidth, top + y), cv::Scalar(colour), 1);
  }
  cv::rectangle(panel.image, cv::Rect(0, top - 1, kBarWidth + 2, height + 2), kBorder, 1);
  for (size_t k = 0; k < values.size(); ++k) {
    const double t = (values[k] - scale.low) / (scale.high - scale.low);
    const int y = top + static_cast<int>(std::lround((1 - t) * (height - 1)));
    cv::line(panel.image, cv::Point(kBarWidth + 1, y), cv::Point(kBarWidth + 5, y), kBorder, 1);
    draw_text(panel.image, ticks[k], cv::Point(kBarWidth + 8, y - lh / 2), kText);
  }
  if (!label.empty()) {
    paste_darker(panel.image, label, cv::Point(label_x, top + std::max(0, (height - label.rows) / 2)));
  }
  return panel;
}

int row_label_width(const std::vector<std::string>& labels, int rows, int cell_height) {
  int width = 0;
  for (const auto& text : axis_texts(labels, rows, cell_height, line_height(kText) + 2)) {
    width = std::max(width, text_width(text.second, kText));
  }
  return width;
}

cv::Size cell_size(int rows, int cols, bool rows_labelled, bool cols_labelled) {
  constexpr int kAcross = 560, kLargest = 56;
  const int smallest_labelled = std::max(18, line_height(kText) + 2);
  const auto side = [&](int count, bool labelled) {
    const int fitted = count > 0 ? kAcross / count : kLargest;
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

  const auto row_texts = axis_texts(spec.row_labels, m.rows, ch, lh + 2);
  int label_width = spec.row_label_width;
  for (const auto& text : row_texts) {
    label_width = std::max(label_width, text_width(text.second, kText));
  }
  const auto column_texts = axis_texts(spec.column_labels, m.cols, cw, number_spacing(m.cols));
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
  Panel panel{cv::Mat(height, width, CV_8UC3, cv::Scalar(255, 255, 255)), cv::Rect(x0, y0, cells_width, cells_height)};
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
        style.colour = luminance(colour) > 150 ? cv::Scalar(20, 20, 20) : cv::Scalar(255, 255, 255);
        const std::string text = std::isnan(value) ? "nan" : std::isinf(value) ? (value > 0 ? "inf" : "-inf")
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
      cv::line(image, cv::Point(cell.x + cw - inset - 1, cell.y + inset), cv::Point(cell.x + inset, cell.y + ch - inset - 1),
               kCross, 1, cv::LINE_AA);
    }
  }
  if (spec.crossed_column >= 0 && spec.crossed_column < m.cols) {
    const cv::Rect column(x0 + spec.crossed_column * cw, y0, cw, cells_height);
    cv::line(image, column.tl() + cv::Point(3, 3), column.br() - cv::Point(4, 4), kCross, 1, cv::LINE_AA);
    cv::line(image, cv::Point(column.x + cw - 4, column.y + 3), cv::Point(column.x + 3, column.y + cells_height - 4),
             kCross, 1, cv::LINE_AA);
  }
  if (spec.outlined_column >= 0 && spec.outlined_column < m.cols) {
    cv::rectangle(image, cv::Rect(x0 + spec.outlined_column * cw + 1, y0 + 1, cw - 2, cells_height - 2), kOutline, 2);
  }
  for (const auto& point : spec.outlined) {
    if (point.x >= 0 && point.x < m.cols && point.y >= 0 && point.y < m.rows) {
      cv::rectangle(image, cv::Rect(x0 + point.x * cw + 1, y0 + point.y * ch + 1, cw - 2, ch - 2), kOutline, 2);
    }
  }
  cv::rectangle(image, cv::Rect(x0 - 1, y0 - 1, cells_width + 2, cells_height + 2), kBorder, 1);

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
  Figure figure{cv::Mat(height, width, CV_8UC3, cv::Scalar(255, 255, 255)), {}};

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
