#pragma once
/// \file
/// Pictures of attention: heatmaps, per-head grids, the model view of every layer and head, weight matrices,
/// training curves, the attention of one example as it learns, and 2-d maps of embeddings — written as PNG files (and
/// one AVI) with OpenCV.
///
/// Link `Attention::pictures` (the only target of the project that uses OpenCV; this header does not include
/// OpenCV, so callers need no OpenCV headers).
///
/// Common rules of every `write_*` function:
/// - Tensors (`at::Tensor` is `torch::Tensor`) may be on any device and of any real dtype, and may require
///   gradients; they are detached and copied to the CPU as float32.
///   Double values therefore lose precision past float's ~7 digits, which no picture shows anyway.
/// - Sizes are in pixels. The text has a fixed size (OpenCV's Hershey simplex font, about 10 px high);
///   large matrices get smaller cells, never smaller text, so 40-word sentences and 16-head grids stay
///   legible (the pictures get larger instead). Labels are drawn in ASCII: other bytes (UTF-8 letters)
///   appear as '?', and labels longer than 28 characters are cut with "..".
/// - Attention heatmaps use the perceptually uniform viridis colour map (dark purple = the scale's low end,
///   yellow = its high end); signed weight matrices use a blue-white-red map centred at 0. Every heatmap has
///   a title (when given), a colour bar with its scale and a line saying what its rows and columns are; cell
///   values are printed when the matrix has at most 12 rows and 12 columns (its cells are then at least
///   40 px). NaN and infinite cells are drawn grey; the scale is taken from the finite values.
/// - Errors: a tensor of the wrong rank, an undefined or complex tensor, a label count that differs from the
///   matrix size, an empty matrix (a size of 0: there is nothing to draw; no picture is written) or one of
///   more than 2048 rows or columns throw std::invalid_argument naming the sizes. A path that cannot be
///   written (its folder missing, a file where a folder should be, a failed encoder) throws
///   std::runtime_error naming the path. The file is written to a temporary name next to it (`path` +
///   ".tmp.png" or ".tmp.avi"), flushed to the disk and renamed, so `path` is never left half-written (not even
///   by a power cut), and no file is left on failure.
/// - PNG functions always write PNG data (8-bit, 3 channels BGR), whatever the extension of `path`.

#include <attention/pictures_export.h>

#include <ATen/core/Tensor.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace attention::pictures {

/// Options of an attention heatmap (and of each tile of a head grid).
struct ATTENTION_PICTURES_API HeatmapOptions {
  /// Title at the top of the picture.
  std::string title;
  /// What the rows and the columns are, stated under the title as "rows: queries, columns: keys".
  std::string rows = "queries";
  std::string columns = "keys";
  /// An extra line of explanation under that one (none when empty).
  std::string note;
  /// Print each cell's value (two decimals for values below 10) when the matrix is at most 12 x 12.
  bool show_values = true;
  /// Ends of the colour scale; NaN (the default) means the smallest / largest finite value of the matrix
  /// (of all heads, for a grid). Give 0 and 1 to compare attention pictures with each other.
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
  /// Hatch the cells above the diagonal (keys after their query), as a causal mask blocks them.
  bool shade_causal = false;
  /// Label of the colour bar.
  std::string scale_label = "attention weight";
  /// Cells outlined in red, as (row, column) = (query, key) index pairs, in every tile of a grid. Each must lie
  /// inside the matrix (else std::invalid_argument).
  std::vector<std::pair<int64_t, int64_t>> outlined{};
};

/// Writes the heatmap of one attention matrix `weights` `[Tq, Tk]` to `path` (PNG): row i is query
/// `query_labels[i]`, column j is key `key_labels[j]`. Column labels are rotated 90° when they do not fit
/// across their column. Needs query_labels.size() == Tq and key_labels.size() == Tk.
ATTENTION_PICTURES_API void write_attention_heatmap(const std::string& path, const at::Tensor& weights,
                                                    const std::vector<std::string>& query_labels,
                                                    const std::vector<std::string>& key_labels,
                                                    const HeatmapOptions& options = {});

/// Rows and columns of tiles of a head grid of `heads` heads: heads + 1 tiles (the heads, then their mean),
/// ceil(sqrt(heads + 1)) columns, as many rows as needed. heads must be > 0.
struct GridShape {
  int64_t rows = 0;
  int64_t columns = 0;
};
ATTENTION_PICTURES_API GridShape head_grid_shape(int64_t heads);

/// Writes one heatmap per head of `weights` `[H, Tq, Tk]`, then the mean over the heads, in one picture
/// (PNG) of head_grid_shape(H) tiles, filled row by row: "head 1", "head 2", ..., "head H", "mean of H heads".
/// All tiles share one colour scale and one colour bar. Labels as write_attention_heatmap.
ATTENTION_PICTURES_API void write_head_grid(const std::string& path, const at::Tensor& weights,
                                            const std::vector<std::string>& query_labels,
                                            const std::vector<std::string>& key_labels,
                                            const HeatmapOptions& options = {});

/// Writes the model view (PNG): the attention of every head of every layer of a model on one sequence, `weights`
/// `[L, H, Tq, Tk]`, as a grid of heatmaps with a row of tiles per layer and a column per head, captioned
/// "layer l, head h" (both from 1). All tiles share one colour scale and one colour bar. Labels as
/// write_attention_heatmap, except that tiles are smaller when there are many heads (about 2240 / H px across,
/// between 240 and 560) and their cells may be lower than a line of text (down to 6 px): then every second,
/// fourth... label is drawn, as many as fit, so that 12 layers of 12 heads or 30 of 9 stay readable.
ATTENTION_PICTURES_API void write_model_view(const std::string& path, const at::Tensor& weights,
                                             const std::vector<std::string>& query_labels,
                                             const std::vector<std::string>& key_labels,
                                             const HeatmapOptions& options = {});

/// One signed matrix of a weight picture.
struct ATTENTION_PICTURES_API NamedMatrix {
  std::string name;   ///< caption above the matrix ("W_q [64, 64]" is a good one)
  at::Tensor values;  ///< `[rows, columns]`
  /// Optional labels (e.g. the words of an embedding table); empty: rows and columns are numbered from 0.
  std::vector<std::string> row_labels{};
  std::vector<std::string> column_labels{};
};

/// Options of a weight picture.
struct ATTENTION_PICTURES_API WeightHeatmapOptions {
  std::string title;
  std::string rows = "output features";
  std::string columns = "input features";
  /// An extra line of explanation under the subtitle (none when empty).
  std::string note;
  bool show_values = true;  ///< as HeatmapOptions::show_values
  std::string scale_label = "weight";
};

/// Writes signed matrices side by side (PNG) with one diverging blue-white-red colour scale centred at 0 and
/// symmetric (-m .. +m, m the largest finite |value| of all of them), so equal colours mean equal values
/// across the matrices. For W_q/W_k/W_v/W_o of `torch::nn::Linear` (weight `[out, in]`) and embeddings.
ATTENTION_PICTURES_API void write_weight_heatmaps(const std::string& path, const std::vector<NamedMatrix>& matrices,
                                                  const WeightHeatmapOptions& options = {});

/// One matrix: write_weight_heatmaps(path, {{"", matrix, row_labels, column_labels}}, options).
ATTENTION_PICTURES_API void write_weight_heatmap(const std::string& path, const at::Tensor& matrix,
                                                 const WeightHeatmapOptions& options = {},
                                                 const std::vector<std::string>& row_labels = {},
                                                 const std::vector<std::string>& column_labels = {});

/// One line of a training chart: values[i] belongs to epoch i + 1. A single value is drawn as a dashed flat
/// line across all epochs (a baseline that does not train). Non-finite values leave a gap.
struct ATTENTION_PICTURES_API Curve {
  std::string name;
  std::vector<double> values;
};

/// One chart of a training-curve picture.
struct ATTENTION_PICTURES_API CurvePanel {
  std::string title;
  std::string y_label;
  std::vector<Curve> curves;
  /// Ends of the y axis; NaN: from the data, with a little room.
  double y_min = std::numeric_limits<double>::quiet_NaN();
  double y_max = std::numeric_limits<double>::quiet_NaN();
  bool percent = false;  ///< values are fractions, labelled as percentages (0.5 → "50%")
};

/// Writes the charts side by side (PNG): epochs on the x axis (ticks at round numbers), each chart with its
/// axes, tick labels, grid lines and a legend under it. Curve colours are the colour-blind-safe Okabe-Ito
/// palette, in order. Needs at least one panel, each with at least one curve, each curve with at least one
/// value (else std::invalid_argument).
ATTENTION_PICTURES_API void write_training_curves(const std::string& path, const std::vector<CurvePanel>& panels,
                                                  const std::string& title);

/// One sentence of a comparison picture: its words and one attention row `[M, T]` per model.
struct ATTENTION_PICTURES_API SentenceAttention {
  std::vector<std::string> words;  ///< T words
  at::Tensor weights;              ///< `[M, T]`: row m is model m's attention of the query over the words
  int64_t query = -1;              ///< index of the query word (its cell is crossed out), -1 for none
  int64_t target = -1;             ///< index of the expected word (its cell is outlined), -1 for none
};

/// Writes a table of attention rows (PNG): one row per sentence, one column per model (`model_names`, M of
/// them), each cell a one-row heatmap of the query's attention over the sentence's words, labelled
/// "query -> target". One colour scale, 0 to 1, for all of them, so the models compare at a glance.
ATTENTION_PICTURES_API void write_sentence_attention(const std::string& path,
                                                     const std::vector<std::string>& model_names,
                                                     const std::vector<SentenceAttention>& sentences,
                                                     const std::string& title);

/// Options of write_learning_animation.
struct ATTENTION_PICTURES_API AnimationOptions {
  std::string title;
  int64_t query = -1;            ///< index of the query word (crossed out), -1 for none
  int64_t target = -1;           ///< index of the expected word (outlined), -1 for none
  double frames_per_second = 4;  ///< of the video, > 0; the last frame is held for 2 seconds
};

/// Writes how one attention row changes during training. `frames` `[N, T]`: row n is the attention over
/// the T `words` at the moment `frame_names[n]` (e.g. "epoch 3"). The format follows the extension of `path`:
/// - ".avi": an animation, Motion-JPEG in AVI written by OpenCV's built-in encoder (no FFmpeg needed; plays
///   in VLC, mpv, browsers via a player, ...). Each frame is a bar chart of the weights over the words (y axis
///   fixed from 0 to 1) with the frame's name; all frames have the same size.
/// - ".png": the frame strip, one still picture: a heatmap whose rows are the frames (top to bottom in
///   order, scale 0 to 1). More than 60 frames are thinned evenly to 60, the first and the last kept.
/// Any other extension throws std::invalid_argument.
ATTENTION_PICTURES_API void write_learning_animation(const std::string& path, const at::Tensor& frames,
                                                     const std::vector<std::string>& words,
                                                     const std::vector<std::string>& frame_names,
                                                     const AnimationOptions& options = {});

/// Writes a 2-d map of word embeddings `[N, D]` (PNG): each word a labelled point. D = 2 is drawn as it is,
/// D = 1 on a line; wider embeddings are projected on their first two principal components (centred SVD,
/// deterministic: each axis is signed so that its largest component is positive), and the axes say how much
/// of the variance each component keeps.
ATTENTION_PICTURES_API void write_embedding_map(const std::string& path, const at::Tensor& embeddings,
                                                const std::vector<std::string>& labels, const std::string& title);

}  // namespace attention::pictures
