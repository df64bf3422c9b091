// Heatmaps of matrices: an attention matrix, one tile per head, the model view (a tile per layer and head), and
// signed weight matrices side by side.
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

/// The subtitle of an attention picture: what its rows and columns are, `layout` (how its tiles are placed, if
/// any), the hatching, then the note.
std::vector<std::string> attention_subtitle(const HeatmapOptions& options, const std::string& layout) {
  return with_note({rows_and_columns(options.rows, options.columns) + layout +
                    (options.shade_causal ? "; hatched: keys after their query" : "")},
                   options.note);
}

/// options.outlined as cells of a `rows` x `cols` matrix; std::invalid_argument for one outside it.
std::vector<cv::Point> outlined_cells(const HeatmapOptions& options, int rows, int cols) {
  std::vector<cv::Point> cells;
  for (const auto& [row, column] : options.outlined) {
    if (row < 0 || row >= rows || column < 0 || column >= cols) {
      throw std::invalid_argument("outlined cell (" + std::to_string(row) + ", " + std::to_string(column) +
                                  ") is outside the " + std::to_string(rows) + " x " + std::to_string(cols) +
                                  " matrix");
    }
    cells.emplace_back(static_cast<int>(column), static_cast<int>(row));
  }
  return cells;
}

/// The tiles of a grid: one panel per matrix under its caption, with one colour scale, one cell size and aligned
/// row labels, and their colour bar. Each tile is about `across` px across at most (cell_size(), with
/// `thin_labels`).
struct Tiles {
  std::vector<Panel> panels;
  Panel bar;
};
Tiles render_tiles(const std::vector<Matrix>& matrices, const std::vector<std::string>& captions,
                   const std::vector<std::string>& query_labels, const std::vector<std::string>& key_labels,
                   const HeatmapOptions& options, int across = 560, bool thin_labels = false) {
  std::vector<const Matrix*> all;
  for (const auto& matrix : matrices) {
    all.push_back(&matrix);
  }
  const auto range = finite_range(all);
  const auto scale = make_scale(or_default(options.min, range.first), or_default(options.max, range.second),
                                ColourMap::Viridis, options.scale_label);
  const int rows = matrices[0].rows, cols = matrices[0].cols;
  const auto cell = cell_size(rows, cols, true, true, across, thin_labels);
  const auto outlined = outlined_cells(options, rows, cols);
  const int label_width = row_label_width(query_labels, rows, cell.height);
  Tiles tiles;
  for (size_t i = 0; i < matrices.size(); ++i) {
    PanelSpec spec;
    spec.matrix = &matrices[i];
    spec.row_labels = query_labels;
    spec.column_labels = key_labels;
    spec.scale = scale;
    spec.cell = cell;
    spec.show_values = options.show_values && values_fit(rows, cols, cell);
    spec.shade_causal = options.shade_causal;
    spec.outlined = outlined;
    spec.row_label_width = label_width;
    spec.caption = captions[i];
    tiles.panels.push_back(render_panel(spec));
  }
  tiles.bar = render_colour_bar(scale, colour_bar_height(tiles.panels[0].cells.height));
  return tiles;
}

}  // namespace

Figure render_attention_heatmap(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                                const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  check_matrix(weights, 2, "attention weights", "[Tq, Tk]", Labels{query_labels.size(), "query labels", "rows"},
               Labels{key_labels.size(), "key labels", "columns"});
  const auto tiles = render_tiles({to_matrix(weights)}, {""}, query_labels, key_labels, options);
  return compose(options.title, attention_subtitle(options, ""), tiles.panels, 1, &tiles.bar);
}

Figure render_head_grid(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                        const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  check_matrix(weights, 3, "per-head attention weights", "[H, Tq, Tk]",
               Labels{query_labels.size(), "query labels", "rows"}, Labels{key_labels.size(), "key labels", "columns"});
  const auto heads = weights.size(0);
  std::vector<Matrix> matrices;
  std::vector<std::string> captions;
  for (int64_t h = 0; h < heads; ++h) {
    matrices.push_back(to_matrix(weights[h]));
    captions.push_back("head " + std::to_string(h + 1));
  }
  matrices.push_back(to_matrix(weights.detach().to(torch::kCPU).to(torch::kFloat).mean(0)));
  captions.push_back("mean of " + std::to_string(heads) + " heads");
  const auto tiles = render_tiles(matrices, captions, query_labels, key_labels, options);
  return compose(options.title, attention_subtitle(options, "; one tile per head, then their mean, row by row"),
                 tiles.panels, static_cast<int>(head_grid_shape(heads).columns), &tiles.bar);
}

Figure render_model_view(const at::Tensor& weights, const std::vector<std::string>& query_labels,
                         const std::vector<std::string>& key_labels, const HeatmapOptions& options) {
  check_matrix(weights, 4, "per-layer, per-head attention weights", "[L, H, Tq, Tk]",
               Labels{query_labels.size(), "query labels", "rows"}, Labels{key_labels.size(), "key labels", "columns"});
  const auto layers = weights.size(0), heads = weights.size(1);
  std::vector<Matrix> matrices;
  std::vector<std::string> captions;
  for (int64_t l = 0; l < layers; ++l) {
    for (int64_t h = 0; h < heads; ++h) {
      matrices.push_back(to_matrix(weights[l][h]));
      captions.push_back("layer " + std::to_string(l + 1) + ", head " + std::to_string(h + 1));
    }
  }
  // Many heads get smaller tiles (12 heads: 240 px), their labels thinned to what fits, so that a model of
  // 12 layers of 12 heads, or 30 of 9, stays a picture of a few thousand pixels a side.
  const auto across = static_cast<int>(std::clamp<int64_t>(2240 / heads, 240, 560));
  const auto tiles = render_tiles(matrices, captions, query_labels, key_labels, options, across, true);
  return compose(options.title, attention_subtitle(options, "; a row of tiles per layer, a column per head"),
                 tiles.panels, static_cast<int>(heads), &tiles.bar);
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
