#include "induction/pictures.h"

#include "training/run_folder.h"

#include <attention/pictures.h>

#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <numeric>

namespace attention::app {
namespace {

namespace pictures = attention::pictures;

std::vector<std::string> token_labels(const std::vector<int64_t>& tokens) {
  std::vector<std::string> labels;
  for (const auto token : tokens) {
    labels.push_back(std::to_string(token));
  }
  return labels;
}

/// For each query t whose token occurred before, the cell (t, s + 1), s the latest earlier occurrence: where an
/// induction head looks.
std::vector<std::pair<int64_t, int64_t>> induction_cells(const std::vector<int64_t>& tokens) {
  std::vector<std::pair<int64_t, int64_t>> cells;
  std::map<int64_t, int64_t> last_seen;
  for (int64_t t = 0; t < static_cast<int64_t>(tokens.size()); ++t) {
    const auto token = tokens[static_cast<size_t>(t)];
    if (const auto found = last_seen.find(token); found != last_seen.end()) {
      cells.emplace_back(t, found->second + 1);
    }
    last_seen[token] = t;
  }
  return cells;
}

/// Every layer's attention of `model` on `tokens`: `[L, H, T, T]`.
torch::Tensor weights_on(InductionModel& model, const std::vector<int64_t>& tokens) {
  torch::NoGradGuard no_grad;
  return model->forward_with_weights(torch::tensor(tokens, torch::kLong).unsqueeze(0)).weights.select(1, 0);
}

/// The pictures of a finished run, each written into the run's folder and named in the list of files written.
class InductionPictures {
 public:
  InductionPictures(const std::string& dir, const InductionRun& run) : files_(dir), run_(run) {}

  std::vector<std::string> write(const InductionFrames& frames) {
    torch::NoGradGuard no_grad;
    std::vector<int64_t> copies(static_cast<size_t>(2 * frames.segment));
    std::iota(copies.begin(), copies.end(), frames.repeat - frames.segment);
    struct View {
      InductionModel model;
      const char* file;
      const char* name;
    };
    for (const auto& view : {View{run_.models.model, "model_view.png", "the trained model"},
                             View{run_.models.baseline, "model_view_baseline.png", "the baseline"}}) {
      auto model = view.model;
      write_model_view_of(files_.path(view.file), model, frames.tokens,
                          "Model view: " + std::string(view.name) + " (" + layers_name(model->layer_count()) +
                              ") on a held-out sequence; *: a segment of " + std::to_string(frames.segment) +
                              " tokens and its repeat",
                          copies);
    }
    write_curves();
    write_head_scores();
    if (!frames.frames.empty()) {
      write_learning(frames);
    }
    return files_.written();
  }

 private:
  void write_curves() {
    const auto& metrics = run_.metrics;
    // history[0] is before training; the charts' epochs count from 1.
    const auto values = [](const std::vector<EvaluationRecord>& history, double EvaluationRecord::*field) {
      std::vector<double> series;
      for (size_t i = 1; i < history.size(); ++i) {
        series.push_back(history[i].*field);
      }
      return series;
    };
    const auto model = layers_name(metrics.layers), baseline = layers_name(metrics.baseline.layers) + " (baseline)";
    const auto& history = metrics.history;
    const auto& base = metrics.baseline.history;
    pictures::CurvePanel repeated{"held-out loss on the repeated half",
                                  "nats",
                                  {{model, values(history, &EvaluationRecord::repeated_half_loss)},
                                   {baseline, values(base, &EvaluationRecord::repeated_half_loss)},
                                   {"half the starting loss", {history.front().repeated_half_loss / 2}}},
                                  0.0};
    pictures::CurvePanel other{"held-out loss on the rest",
                               "nats",
                               {{model, values(history, &EvaluationRecord::other_loss)},
                                {baseline, values(base, &EvaluationRecord::other_loss)}}};
    pictures::CurvePanel scores{
        "best head scores",
        "mean attention",
        {{model + ": induction (last layer)", values(history, &EvaluationRecord::induction_score)},
         {model + ": previous token (first layer)", values(history, &EvaluationRecord::previous_token_score)},
         {baseline + ": induction", values(base, &EvaluationRecord::induction_score)}},
        0.0,
        1.04};
    const auto& phase = metrics.phase_change_step.step;
    pictures::write_training_curves(
        files_.path("training_curves.png"), {repeated, other, scores},
        "Induction heads: " + model + " against " + layers_name(metrics.baseline.layers) + ", epochs of " +
            std::to_string(metrics.model.steps_per_epoch) + " steps; " +
            (phase ? "phase change (the repeated-half loss below half its start) at step " + std::to_string(*phase)
                   : "no phase change (the repeated-half loss never fell below half its start)"));
  }

  void write_head_scores() {
    std::vector<std::string> rows;
    std::vector<double> values;
    for (const auto* metrics : {static_cast<const ModelMetrics*>(&run_.metrics), &run_.metrics.baseline}) {
      for (const auto& head : metrics->per_head) {
        rows.push_back(layers_name(metrics->layers) + ": layer " + std::to_string(head.layer) + ", head " +
                       std::to_string(head.head));
        values.insert(values.end(), {head.induction, head.previous_token});
      }
    }
    pictures::HeatmapOptions options;
    options.title = "Each head's scores on the held-out sequences";
    options.rows = "heads";
    options.columns = "scores";
    options.note =
        "induction: mean attention from a token of the repeat to the token after its first occurrence; "
        "previous token: to the token before";
    options.min = 0;
    options.max = 1;
    options.scale_label = "mean attention";
    pictures::write_attention_heatmap(files_.path("head_scores.png"),
                                      torch::tensor(values, torch::kDouble).view({-1, 2}), rows,
                                      {"induction", "previous token"}, options);
  }

  void write_learning(const InductionFrames& frames) {
    const auto& metrics = run_.metrics;
    const HeadScores* best = nullptr;
    for (const auto& head : metrics.per_head) {
      if (head.layer == metrics.layers && (!best || head.induction > best->induction)) {
        best = &head;
      }
    }
    pictures::AnimationOptions options;
    options.title = "How token " + std::to_string(frames.tokens[static_cast<size_t>(frames.query)]) +
                    " of the repeat learns to attend to the token after its first occurrence (layer " +
                    std::to_string(best->layer) + ", head " + std::to_string(best->head) + ")";
    options.query = frames.query;
    options.target = frames.target;
    const auto attention = torch::stack(frames.frames).select(1, best->head - 1);  // [N, T]
    const auto labels = token_labels(frames.tokens);
    for (const auto* file : {"learning.avi", "learning.png"}) {
      pictures::write_learning_animation(files_.path(file), attention, labels, frames.names, options);
    }
  }

  RunFiles files_;
  const InductionRun& run_;
};

}  // namespace

InductionFrames watch_sequence(const Sequences& held_out) {
  InductionFrames frames;
  // The first whose segment is closest to a third of the sequence: its copies and the random tokens around them
  // are all in view.
  const auto chosen = (3 * held_out.segment - held_out.tokens.size(1)).abs().argmin().item<int64_t>();
  const auto tokens = held_out.tokens[chosen].contiguous();
  frames.tokens.assign(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + tokens.numel());
  frames.repeat = held_out.repeat[chosen].item<int64_t>();
  frames.segment = held_out.segment[chosen].item<int64_t>();
  frames.query = frames.repeat + frames.segment / 2;
  frames.target = frames.query - frames.segment + 1;
  return frames;
}

InductionCallbacks capture_induction_frames(InductionFrames& frames,
                                            std::function<void(const InductionReport&)> report) {
  InductionCallbacks callbacks;
  callbacks.on_evaluation = [&frames, report = std::move(report)](const InductionReport& evaluation,
                                                                  InductionModel& model) {
    if (!evaluation.baseline) {
      const auto weights = weights_on(model, frames.tokens);  // [L, H, T, T]
      frames.frames.push_back(weights[-1].select(1, frames.query));
      frames.names.push_back("step " + std::to_string(evaluation.record.step));
    }
    if (report) {
      report(evaluation);
    }
  };
  return callbacks;
}

std::vector<std::string> write_induction_pictures(const std::string& dir, const InductionRun& run,
                                                  const InductionFrames& frames) {
  return InductionPictures(dir, run).write(frames);
}

void write_model_view_of(const std::string& path, InductionModel& model, const std::vector<int64_t>& tokens,
                         const std::string& title, const std::vector<int64_t>& marked) {
  pictures::HeatmapOptions options;
  options.title = title;
  options.rows = "queries (token ids)";
  options.columns = "keys";
  options.note =
      "outlined in red: where an induction head looks, the token after the previous occurrence of the "
      "query's token";
  auto labels = token_labels(tokens);
  for (const auto position : marked) {
    labels.at(static_cast<size_t>(position)) = "*" + labels.at(static_cast<size_t>(position));
  }
  options.min = 0;
  options.max = 1;
  options.outlined = induction_cells(tokens);
  pictures::write_model_view(path, weights_on(model, tokens), labels, labels, options);
}

}  // namespace attention::app
