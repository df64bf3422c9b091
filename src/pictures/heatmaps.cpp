// Heatmaps of matrices: an attention matrix, one tile per head, and signed weight matrices side by side.
#include "render.h"

#include "colour.h"
#include "layout.h"
#include "matrix.h"
#include "panel.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace attention::pictures::detail {
namespace {

std::string rows_and_columns(const std::string& rows, const std::string& columns) {
  return "rows: " + rows + ", columns: " + columns;
}

std::vector<std::string> with_note(std::vector<std::string> lines, const std::string& note) {
  if (!note.empty()) {
    lines.push_back(note);
  }
  return lines;
}

}  // namespace

Figure render_attention_heatmap(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                                const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  check_matrix(weights, 2, "attention weights", "[Tq, Tk]", Labels{query_labels.size(), "query labels", "rows"},
               Labels{key_labels.size(), "key labels", "columns"});
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
  check_matrix(weights, 3, "per-head attention weights", "[H, Tq, Tk]",
               Labels{query_labels.size(), "query labels", "rows"}, Labels{key_labels.size(), "key labels", "columns"});
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
  return compose(
      options.title,
      with_note({rows_and_columns(options.rows, options.columns) + "; one tile per head, then their mean, row by row" +
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
    // Labels are optional here: none means numbered rows or columns.
    const auto labels = [](const std::vector<std::string>& given, const char* name,
                           const char* dimension) -> std::optional<Labels> {
      return given.empty() ? std::nullopt : std::optional<Labels>(Labels{given.size(), name, dimension});
    };
    check_matrix(named.values, 2, what, "[rows, columns]", labels(named.row_labels, "row labels", "rows"),
                 labels(named.column_labels, "column labels", "columns"));
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
  return compose(
      options.title,
      with_note({rows_and_columns(options.rows, options.columns) + "; blue: negative, white: 0, red: positive"},
                options.note),
      panels, static_cast<int>(panels.size()), &bar, 36);
}

}  // namespace attention::pictures::detail
