#include "lm/heatmap.h"

#include "lm/model_folder.h"

#include <attention/pictures.h>

#include <torch/torch.h>

#include <filesystem>
#include <iomanip>
#include <sstream>

namespace attention::app {
namespace {

/// "layer_07.png": numbered with as many digits as the last layer needs (at least 2), so that names sort in order.
std::string layer_file(int64_t layer, int64_t layers) {
  const auto digits = std::max<size_t>(2, std::to_string(layers).size());
  std::ostringstream name;
  name << "layer_" << std::setw(static_cast<int>(digits)) << std::setfill('0') << layer << ".png";
  return name.str();
}

}  // namespace

std::vector<std::string> run_model_heatmap(const std::string& model_dir, const std::string& text,
                                           const std::string& out_dir) {
  const auto lm = load_language_model(model_dir, torch::kFloat);
  const auto ids = prompt_ids(lm, text);
  if (ids.empty() || ids.size() > kMaxHeatmapTokens) {
    throw OptionError("--text", "has " + std::to_string(ids.size()) + " tokens" + (lm.bos ? " (with the BOS)" : "") +
                                    ": heatmap draws 1 to " + std::to_string(kMaxHeatmapTokens));
  }
  std::vector<std::string> labels;
  for (const auto id : ids) {
    labels.push_back(token_label(lm.tokenizer, id));
  }
  torch::NoGradGuard no_grad;
  const auto output = lm.model.forward(torch::tensor(ids, torch::kLong).unsqueeze(0), /*need_attentions=*/true);
  const auto weights = torch::stack(output.attentions).select(1, 0);  // [L][1, H, T, T] → (L, H, T, T)
  const auto layers = weights.size(0), heads = weights.size(1);
  const auto& config = lm.model.config();
  const auto name = std::filesystem::path(model_dir).filename().string();

  std::filesystem::create_directories(out_dir);
  pictures::HeatmapOptions options;
  options.rows = "queries (tokens)";
  options.columns = "keys";
  options.min = 0;
  options.max = 1;
  options.shade_causal = true;
  options.show_values = false;
  options.note = config.model_type + " " + name + ", " + std::to_string(layers) + " layers of " +
                 std::to_string(heads) + " heads, on " + std::to_string(ids.size()) + " tokens" +
                 (lm.bos ? " (the first is the BOS)" : "");
  std::vector<std::string> files{"model_view.png"};
  options.title = "Model view: every layer and head";
  pictures::write_model_view((std::filesystem::path(out_dir) / files[0]).string(), weights, labels, labels, options);
  for (int64_t layer = 0; layer < layers; ++layer) {
    files.push_back(layer_file(layer + 1, layers));
    options.title =
        "Layer " + std::to_string(layer + 1) + " of " + std::to_string(layers) + ": each head, and their mean";
    pictures::write_head_grid((std::filesystem::path(out_dir) / files.back()).string(), weights[layer], labels, labels,
                              options);
  }
  return files;
}

}  // namespace attention::app
