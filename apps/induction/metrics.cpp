#include "induction/metrics.h"

#include <torch/torch.h>

#include <algorithm>

namespace attention::app {

torch::Tensor induction_scores(const torch::Tensor& weights, const Sequences& sequences) {
  const auto B = weights.size(0), H = weights.size(1), T = weights.size(2);
  const auto t = torch::arange(T, torch::kLong).unsqueeze(0);  // [1, T]
  const auto r = sequences.repeat.unsqueeze(1), L = sequences.segment.unsqueeze(1);
  const auto in_repeat = (t >= r) & (t < r + L);  // [B, T]: queries of the second copy
  const auto key = (t - L + 1).clamp_min(0);      // [B, T]: the token after the first occurrence
  const auto on_key = weights.to(torch::kDouble)
                          .gather(3, key.view({B, 1, T, 1}).expand({B, H, T, 1}).to(weights.device()))
                          .squeeze(3)
                          .cpu();                               // [B, H, T]
  const auto mask = in_repeat.unsqueeze(1).to(torch::kDouble);  // [B, 1, T]
  return (on_key * mask).sum(std::vector<int64_t>{0, 2}) / mask.sum();
}

torch::Tensor previous_token_scores(const torch::Tensor& weights) {
  return weights.to(torch::kDouble)
      .diagonal(-1, 2, 3)
      .mean(std::vector<int64_t>{0, 2})
      .cpu();  // the diagonal below: [B, H, T - 1]
}

SplitLoss split_losses(const torch::Tensor& logits, const Sequences& sequences) {
  const auto T = sequences.tokens.size(1), V = logits.size(2);
  const auto losses =
      torch::nn::functional::cross_entropy(logits.slice(1, 0, T - 1).reshape({-1, V}).to(torch::kDouble),
                                           sequences.tokens.slice(1, 1, T).reshape({-1}).to(logits.device()),
                                           torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
          .view({-1, T - 1})
          .cpu();  // [B, T - 1]
  const auto repeated = repeated_predictions(sequences);
  return {losses.masked_select(repeated).mean().item<double>(),
          losses.masked_select(repeated.logical_not()).mean().item<double>()};
}

InductionEvaluation evaluate(InductionModel& model, const Sequences& held_out) {
  torch::NoGradGuard no_grad;
  const auto out = model->forward_with_weights(held_out.tokens);
  const auto losses = split_losses(out.logits, held_out);
  InductionEvaluation evaluation;
  evaluation.repeated_half_loss = losses.repeated_half;
  evaluation.other_loss = losses.other;
  const auto L = out.weights.size(0);
  for (int64_t l = 0; l < L; ++l) {
    const auto induction = induction_scores(out.weights[l], held_out);
    const auto previous = previous_token_scores(out.weights[l]);
    for (int64_t h = 0; h < induction.size(0); ++h) {
      evaluation.per_head.push_back({l + 1, h + 1, induction[h].item<double>(), previous[h].item<double>()});
      if (l == L - 1) {
        evaluation.induction_score = std::max(evaluation.induction_score, evaluation.per_head.back().induction);
      }
      if (l == 0) {
        evaluation.previous_token_score =
            std::max(evaluation.previous_token_score, evaluation.per_head.back().previous_token);
      }
    }
  }
  return evaluation;
}

EvaluationRecord record_of(const InductionEvaluation& evaluation, int64_t epoch, int64_t steps_per_epoch) {
  return {epoch,
          epoch * steps_per_epoch,
          evaluation.repeated_half_loss,
          evaluation.other_loss,
          evaluation.induction_score,
          evaluation.previous_token_score};
}

void to_json(nlohmann::json& json, const MaybeStep& step) {
  json = step.step ? nlohmann::json(*step.step) : nlohmann::json(nullptr);
}

void from_json(const nlohmann::json& json, MaybeStep& step) {
  step.step = json.is_null() ? std::nullopt : std::optional<int64_t>(json.get<int64_t>());
}

MaybeStep phase_change(const std::vector<EvaluationRecord>& history) {
  if (history.empty()) {
    return {};
  }
  const auto start = history.front().repeated_half_loss;
  for (const auto& record : history) {
    if (record.repeated_half_loss < start / 2) {
      return {record.step};
    }
  }
  return {};
}

}  // namespace attention::app
