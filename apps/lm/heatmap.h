#pragma once
// `attention heatmap --model`: the attention of every layer and head of a model folder's model on a text.

#include <string>
#include <vector>

namespace attention::app {

/// The most tokens `heatmap --model` draws: its pictures hold [T, T] tiles, as the sentences of the other
/// commands (kMaxWords).
constexpr size_t kMaxHeatmapTokens = 256;

/// Draws the attention of the model in `model_dir` (float32) on `text`, as labelled by its tokens (each decoded
/// alone), into the folder `out_dir` (created if missing): `model_view.png` (a tile per layer and head, one colour
/// scale) and `layer_01.png`, `layer_02.png`, ... (each layer's heads, large, and their mean). Returns the files'
/// names, in that order. Throws OptionError (model_folder.h) for a text of no tokens or more than
/// kMaxHeatmapTokens, c10::Error for the model's folder and files, std::exception for a folder or picture that
/// cannot be written.
std::vector<std::string> run_model_heatmap(const std::string& model_dir, const std::string& text,
                                           const std::string& out_dir);

}  // namespace attention::app
