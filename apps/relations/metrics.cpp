#include "relations/metrics.h"

#include <torch/torch.h>

namespace attention::app {

Evaluation evaluate(RelationModel& model, const std::vector<Example>& examples) {
  torch::NoGradGuard no_grad;
  const auto batch = make_batch(examples, model->vocabulary);
  const auto attention = model(batch.ids, batch.lengths, batch.queries);  // [B, T]
  const auto predicted = attention.argmax(1);
  Evaluation evaluation;
  evaluation.accuracy = predicted.eq(batch.targets).to(torch::kDouble).mean().item<double>();
  evaluation.attention_on_target =
      attention.gather(1, batch.targets.unsqueeze(1)).to(torch::kDouble).mean().item<double>();
  return evaluation;
}

Scores score(RelationModel& model, const Split& split) {
  const auto held_out = evaluate(model, split.test);
  return Scores{evaluate(model, split.train).accuracy, held_out.accuracy, held_out.attention_on_target};
}

}  // namespace attention::app
