// The attention of queries over their sentences, one row of cells per sentence and model.
#include "render.h"

#include "colour.h"
#include "layout.h"
#include "matrix.h"
#include "panel.h"
#include "text.h"

#include <algorithm>
#include <stdexcept>

namespace attention::pictures::detail {

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
    check_matrix(sentence.weights, 2, what, "[models, words]",
                 Labels{model_names.size(), "model names", "rows (models)"},
                 Labels{sentence.words.size(), "words", "columns (words)"});
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

}  // namespace attention::pictures::detail
