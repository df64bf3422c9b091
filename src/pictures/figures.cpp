// The pictures of attention/pictures.h, rendered as images (see render.h); pictures.cpp writes them.
#include "canvas.h"

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>

namespace attention::pictures::detail {
namespace {

const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kAxis(90, 90, 90);
const cv::Scalar kGrid(232, 232, 232);
const cv::Scalar kRed(0, 0, 220);
/// Okabe-Ito colour-blind-safe palette (BGR): blue, orange, bluish green, vermillion, reddish purple, sky blue,
/// black, yellow.
const std::vector<cv::Scalar> kPalette = {{178, 114, 0},  {0, 159, 230},   {115, 158, 0}, {0, 94, 213},
                                          {167, 121, 204}, {233, 180, 86}, {0, 0, 0},     {66, 228, 240}};

double or_default(double value, double fallback) {
  return std::isnan(value) ? fallback : value;
}

void check_index(int64_t index, size_t count, const std::string& what) {
  if (index < -1 || index >= static_cast<int64_t>(count)) {
    throw std::invalid_argument(what + " index " + std::to_string(index) + " is not -1 or a word index below " +
                                std::to_string(count));
  }
}

std::string rows_and_columns(const std::string& rows, const std::string& columns) {
  return "rows: " + rows + ", columns: " + columns;
}

std::vector<std::string> with_note(std::vector<std::string> lines, const std::string& note) {
  if (!note.empty()) {
    lines.push_back(note);
  }
  return lines;
}

// ---- Charts with axes ------------------------------------------------------------------------------------

/// A linear axis from `low` to `high` with its ticks and how to label them.
struct Axis {
  double low = 0;
  double high = 1;
  std::vector<double> ticks;
  std::function<std::string(double)> label;
  std::string title;
};

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

/// A chart image with a plot area of `plot` size: its title above, y axis on the left, x axis below, and
/// `below` px of room under the x axis title (for a legend).
struct Chart {
  cv::Mat image;
  cv::Rect plot;

  int x(const Axis& axis, double value) const {
    const double t = axis.high > axis.low ? (value - axis.low) / (axis.high - axis.low) : 0.5;
    return plot.x + static_cast<int>(std::lround(std::clamp(t, -0.02, 1.02) * (plot.width - 1)));
  }
  int y(const Axis& axis, double value) const {
    const double t = axis.high > axis.low ? (value - axis.low) / (axis.high - axis.low) : 0.5;
    return plot.y + plot.height - 1 - static_cast<int>(std::lround(std::clamp(t, -0.02, 1.02) * (plot.height - 1)));
  }
};

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
    cv::line(image, cv::Point(left - 4, y), cv::Point(left, y), kAxis, 1);
    const auto text = y_axis.label(tick);
    draw_text(image, text, cv::Point(left - 7 - text_width(text, kText), y - lh / 2), kText);
  }
  const int bottom = top + plot.height;
  for (const double tick : x_axis.ticks) {
    const int x = chart.x(x_axis, tick);
    cv::line(image, cv::Point(x, top), cv::Point(x, bottom - 1), kGrid, 1);
    cv::line(image, cv::Point(x, bottom), cv::Point(x, bottom + 4), kAxis, 1);
    draw_text_centred(image, x_axis.label(tick), x, bottom + 6, kText);
  }
  cv::rectangle(image, cv::Rect(left - 1, top - 1, plot.width + 2, plot.height + 2), kAxis, 1);
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

// ---- Heatmap figures -------------------------------------------------------------------------------------

void check_frames(const at::Tensor& frames, const std::vector<std::string>& words,
                  const std::vector<std::string>& frame_names, const AnimationOptions& options) {
  check_rank(frames, 2, "animation frames", "[frames, words]");
  check_labels(frame_names.size(), frames.size(0), "frame names", "frames (rows)", frames);
  check_labels(words.size(), frames.size(1), "words", "words (columns)", frames);
  check_not_empty(frames, "animation frames");
  check_index(options.query, words.size(), "query");
  check_index(options.target, words.size(), "target");
  if (!(options.frames_per_second > 0) || !std::isfinite(options.frames_per_second)) {
    throw std::invalid_argument("frames_per_second must be > 0, got " + format_number(options.frames_per_second, 3));
  }
}

}  // namespace

Figure render_attention_heatmap(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                                const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  check_rank(weights, 2, "attention weights", "[Tq, Tk]");
  check_labels(query_labels.size(), weights.size(0), "query labels", "rows", weights);
  check_labels(key_labels.size(), weights.size(1), "key labels", "columns", weights);
  check_not_empty(weights, "attention weights");
  const auto matrix = to_matrix(weights);
  const auto range = finite_range({&matrix});
  PanelSpec spec;
  spec.matrix = &matrix;
  spec.row_labels = query_labels;
  spec.column_labels = key_labels;
  spec.scale = make_scale(or_default(options.min, range.first), or_default(options.max, range.second),
                          ColourMap::Viridis, options.scale_label);
  spec.cell = cell_size(matrix.rows, matrix.cols, true, true);
  spec.show_values = options.show_values && values_fit(matrix.rows, matrix.cols, spec.cell);
  spec.shade_causal = options.shade_causal;
  const auto panel = render_panel(spec);
  const auto bar = render_colour_bar(spec.scale, colour_bar_height(panel.cells.height));
  std::string subtitle = rows_and_columns(options.rows, options.columns);
  if (options.shade_causal) {
    subtitle += "; hatched: keys after their query";
  }
  return compose(options.title, with_note({subtitle}, options.note), {panel}, 1, &bar);
}

Figure render_head_grid(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                        const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  check_rank(weights, 3, "per-head attention weights", "[H, Tq, Tk]");
  check_labels(query_labels.size(), weights.size(1), "query labels", "rows", weights);
  check_labels(key_labels.size(), weights.size(2), "key labels", "columns", weights);
  check_not_empty(weights, "per-head attention weights");
  const auto heads = weights.size(0);
  const auto shape = head_grid_shape(heads);
  std::vector<Matrix> matrices;
  for (int64_t h = 0; h < heads; ++h) {
    matrices.push_back(to_matrix(weights[h]));
  }
  matrices.push_back(to_matrix(weights.detach().to(torch::kCPU).to(torch::kFloat).mean(0)));
  std::vector<const Matrix*> all;
  for (const auto& matrix : matrices) {
    all.push_back(&matrix);
  }
  const auto range = finite_range(all);
  const auto scale = make_scale(or_default(options.min, range.first), or_default(options.max, range.second),
                                ColourMap::Viridis, options.scale_label);
  const int rows = matrices[0].rows, cols = matrices[0].cols;
  const auto cell = cell_size(rows, cols, true, true);
  const int label_width = row_label_width(query_labels, rows, cell.height);
  std::vector<Panel> panels;
  for (size_t i = 0; i < matrices.size(); ++i) {
    PanelSpec spec;
    spec.matrix = &matrices[i];
    spec.row_labels = query_labels;
    spec.column_labels = key_labels;
    spec.scale = scale;
    spec.cell = cell;
    spec.show_values = options.show_values && values_fit(rows, cols, cell);
    spec.shade_causal = options.shade_causal;
    spec.row_label_width = label_width;
    spec.caption = static_cast<int64_t>(i) < heads ? "head " + std::to_string(i + 1)
                                                   : "mean of " + std::to_string(heads) + " heads";
    panels.push_back(render_panel(spec));
  }
  const auto bar = render_colour_bar(scale, colour_bar_height(panels[0].cells.height));
  return compose(options.title,
                 with_note({rows_and_columns(options.rows, options.columns) +
                            "; one tile per head, then their mean, row by row" +
                            (options.shade_causal ? "; hatched: keys after their query" : "")},
                           options.note),
                 panels, static_cast<int>(shape.columns), &bar);
}

Figure render_weight_heatmaps(const std::vector<NamedMatrix>& matrices, const WeightHeatmapOptions& options) {
  if (matrices.empty()) {
    throw std::invalid_argument("no matrices to draw");
  }
  std::vector<Matrix> values;
  for (const auto& named : matrices) {
    const auto what = "matrix" + (named.name.empty() ? std::string() : " '" + named.name + "'");
    check_rank(named.values, 2, what, "[rows, columns]");
    if (!named.row_labels.empty()) {
      check_labels(named.row_labels.size(), named.values.size(0), "row labels", "rows", named.values);
    }
    if (!named.column_labels.empty()) {
      check_labels(named.column_labels.size(), named.values.size(1), "column labels", "columns", named.values);
    }
    check_not_empty(named.values, what);
    values.push_back(to_matrix(named.values));
  }
  double amplitude = 0;
  for (const auto& matrix : values) {
    for (const float value : matrix.values) {
      if (std::isfinite(value)) {
        amplitude = std::max(amplitude, std::abs(static_cast<double>(value)));
      }
    }
  }
  const auto scale = make_scale(-amplitude, amplitude, ColourMap::Diverging, options.scale_label);
  std::vector<Panel> panels;
  int tallest = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const auto& named = matrices[i];
    PanelSpec spec;
    spec.matrix = &values[i];
    spec.row_labels = named.row_labels;
    spec.column_labels = named.column_labels;
    spec.caption = named.name;
    spec.scale = scale;
    spec.cell = cell_size(values[i].rows, values[i].cols, !named.row_labels.empty(), !named.column_labels.empty());
    spec.show_values = options.show_values && values_fit(values[i].rows, values[i].cols, spec.cell);
    panels.push_back(render_panel(spec));
    tallest = std::max(tallest, panels.back().cells.height);
  }
  const auto bar = render_colour_bar(scale, colour_bar_height(tallest));
  return compose(options.title,
                 with_note({rows_and_columns(options.rows, options.columns) + "; blue: negative, white: 0, red: positive"},
                           options.note),
                 panels, static_cast<int>(panels.size()), &bar, 36);
}

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
          dashed_line(chart.image, cv::Point(chart.x(x_axis, 1), y), cv::Point(chart.x(x_axis, last_epoch), y), colour, 2);
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

Figure render_sentence_attention(const std::vector<std::string>& model_names,
                                 const std::vector<SentenceAttention>& sentences, const std::string& title) {
  if (model_names.empty()) {
    throw std::invalid_argument("no model names: nothing to compare");
  }
  if (sentences.empty()) {
    throw std::invalid_argument("no sentences to draw");
  }
  int longest = 0;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const auto& sentence = sentences[i];
    const auto what = "weights of sentence " + std::to_string(i + 1);
    check_rank(sentence.weights, 2, what, "[models, words]");
    check_labels(model_names.size(), sentence.weights.size(0), "model names", "rows (models)", sentence.weights);
    check_labels(sentence.words.size(), sentence.weights.size(1), "words", "columns (words)", sentence.weights);
    check_not_empty(sentence.weights, what);
    check_index(sentence.query, sentence.words.size(), "query");
    check_index(sentence.target, sentence.words.size(), "target");
    longest = std::max(longest, static_cast<int>(sentence.words.size()));
  }
  const int side = cell_size(1, longest, true, true).width;
  const cv::Size cell(side, side);
  const auto scale = make_scale(0, 1, ColourMap::Viridis, "attention weight");

  std::vector<std::vector<std::string>> row_labels;
  int label_width = 0;
  for (const auto& sentence : sentences) {
    std::string label;
    if (sentence.query >= 0) {
      label = sanitize(sentence.words[static_cast<size_t>(sentence.query)]);
      if (sentence.target >= 0) {
        label += " -> " + sanitize(sentence.words[static_cast<size_t>(sentence.target)]);
      }
    }
    row_labels.push_back({label});
    label_width = std::max(label_width, text_width(label, kText));
  }
  std::vector<Panel> panels;
  for (size_t i = 0; i < sentences.size(); ++i) {
    const auto& sentence = sentences[i];
    for (size_t m = 0; m < model_names.size(); ++m) {
      const auto row = to_matrix(sentence.weights.slice(0, static_cast<int64_t>(m), static_cast<int64_t>(m) + 1));
      PanelSpec spec;
      spec.matrix = &row;
      spec.row_labels = row_labels[i];
      spec.column_labels = sentence.words;
      spec.caption = model_names[m];
      spec.scale = scale;
      spec.cell = cell;
      spec.show_values = values_fit(1, longest, cell);
      spec.row_label_width = label_width;
      if (sentence.query >= 0) {
        spec.crossed.emplace_back(static_cast<int>(sentence.query), 0);
      }
      if (sentence.target >= 0) {
        spec.outlined.emplace_back(static_cast<int>(sentence.target), 0);
      }
      panels.push_back(render_panel(spec));
    }
  }
  const auto bar = render_colour_bar(scale, colour_bar_height(0));
  return compose(title,
                 {"each row: one sentence, labelled query -> right answer; each cell: the query's attention on a word",
                  "crossed out: the query itself; outlined in red: the right answer; one colour scale, 0 to 1"},
                 panels, static_cast<int>(model_names.size()), &bar, 24);
}

Figure render_learning_strip(const at::Tensor& frames, const std::vector<std::string>& words,
                             const std::vector<std::string>& frame_names, const AnimationOptions& options) {
  check_frames(frames, words, frame_names, options);
  constexpr int64_t kMostRows = 60;
  const auto count = frames.size(0);
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < std::min(count, kMostRows); ++i) {
    const auto index = count <= kMostRows ? i : static_cast<int64_t>(std::llround(static_cast<double>(i) *
                                                                                 (count - 1) / (kMostRows - 1)));
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
        cv::line(chart.image, cv::Point(mid - 5, bottom - 12), cv::Point(mid + 5, bottom - 2), kAxis, 1, cv::LINE_AA);
        cv::line(chart.image, cv::Point(mid + 5, bottom - 12), cv::Point(mid - 5, bottom - 2), kAxis, 1, cv::LINE_AA);
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

Figure render_embedding_map(const at::Tensor& embeddings, const std::vector<std::string>& labels,
                            const std::string& title) {
  check_rank(embeddings, 2, "embeddings", "[words, dimensions]");
  check_labels(labels.size(), embeddings.size(0), "labels", "rows (words)", embeddings);
  check_not_empty(embeddings, "embeddings");
  const auto x = embeddings.detach().to(torch::kCPU).to(torch::kDouble);
  const auto words = x.size(0), dims = x.size(1);
  torch::Tensor points = torch::zeros({words, 2}, torch::kDouble);
  std::string x_title = "dimension 1", y_title = dims >= 2 ? "dimension 2" : "";
  std::string subtitle;
  if (dims > 2) {
    const auto centred = x - x.mean(0, true);
    const auto decomposition = torch::linalg::svd(centred, false, c10::nullopt);
    const auto& s = std::get<1>(decomposition);
    const auto& vh = std::get<2>(decomposition);
    auto components = torch::zeros({2, dims}, torch::kDouble);
    const auto available = std::min<int64_t>(2, vh.size(0));
    components.slice(0, 0, available).copy_(vh.slice(0, 0, available));
    for (int64_t k = 0; k < available; ++k) {  // deterministic signs: the largest component positive
      const auto row = components[k];
      if (row[row.abs().argmax()].item<double>() < 0) {
        row.neg_();
      }
    }
    points = torch::matmul(centred, components.t());
    const auto variance = s.pow(2);
    const double total = variance.sum().item<double>();
    const auto share = [&](int64_t k) {
      return k < variance.size(0) && total > 0 ? variance[k].item<double>() / total : 0.0;
    };
    x_title = "principal component 1 (" + format_number(100 * share(0), 0) + "% of the variance)";
    y_title = "principal component 2 (" + format_number(100 * share(1), 0) + "% of the variance)";
    subtitle = std::to_string(words) + " words, " + std::to_string(dims) +
               "-d embeddings projected on their first two principal components (PCA)";
  } else {
    points.slice(1, 0, dims).copy_(x);
    subtitle = std::to_string(words) + " words, " + std::to_string(dims) + "-d embeddings as they are";
  }
  // Equal scales on both axes, so distances on the picture are distances between the points.
  const auto px = points.select(1, 0), py = points.select(1, 1);
  const auto finite = [](const torch::Tensor& t, bool high) {
    const auto kept = t.masked_select(torch::isfinite(t));
    return kept.numel() == 0 ? 0.0 : (high ? kept.max() : kept.min()).item<double>();
  };
  const double x_low = finite(px, false), x_high = finite(px, true), y_low = finite(py, false), y_high = finite(py, true);
  const double span = std::max({x_high - x_low, y_high - y_low, 1e-6}) * 1.2;
  const double x_mid = (x_low + x_high) / 2, y_mid = (y_low + y_high) / 2;
  const Axis x_axis = make_axis(x_mid - span / 2, x_mid + span / 2, 5, false, x_title);
  const Axis y_axis = make_axis(y_mid - span / 2, y_mid + span / 2, 5, false, y_title);
  Chart chart = make_chart("", cv::Size(480, 480), x_axis, y_axis, 0);

  const int lh = line_height(kText);
  std::vector<cv::Rect> placed;
  const auto point_x = px.contiguous(), point_y = py.contiguous();
  for (int64_t i = 0; i < words; ++i) {
    const double vx = point_x[i].item<double>(), vy = point_y[i].item<double>();
    if (!std::isfinite(vx) || !std::isfinite(vy)) {
      continue;
    }
    const cv::Point at(chart.x(x_axis, vx), chart.y(y_axis, vy));
    cv::circle(chart.image, at, 5, kPalette[0], cv::FILLED, cv::LINE_AA);
    cv::circle(chart.image, at, 5, kAxis, 1, cv::LINE_AA);
    placed.emplace_back(at.x - 5, at.y - 5, 11, 11);
  }
  for (int64_t i = 0; i < words; ++i) {
    const double vx = point_x[i].item<double>(), vy = point_y[i].item<double>();
    if (!std::isfinite(vx) || !std::isfinite(vy)) {
      continue;
    }
    const cv::Point at(chart.x(x_axis, vx), chart.y(y_axis, vy));
    const auto label = sanitize(labels[static_cast<size_t>(i)]);
    const int w = text_width(label, kText);
    // Right of the point unless that overlaps a label already placed: then left, above, below.
    const std::vector<cv::Point> candidates = {{at.x + 8, at.y - lh / 2}, {at.x - 8 - w, at.y - lh / 2},
                                               {at.x - w / 2, at.y - 8 - lh}, {at.x - w / 2, at.y + 8}};
    cv::Rect chosen(candidates[0], cv::Size(w, lh));
    for (const auto& candidate : candidates) {
      const cv::Rect box(candidate, cv::Size(w, lh));
      const bool free = std::none_of(placed.begin(), placed.end(),
                                     [&](const cv::Rect& other) { return (box & other).area() > 0; });
      if (free) {
        chosen = box;
        break;
      }
    }
    placed.push_back(chosen);
    draw_text(chart.image, label, chosen.tl(), kText);
  }
  return compose(title, {subtitle}, {Panel{chart.image, chart.plot}}, 1, nullptr);
}

}  // namespace attention::pictures::detail
