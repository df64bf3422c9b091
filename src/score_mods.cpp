// Ready-made score_mods (see ScoreMod in functional.h).
#include <attention/functional.h>

#include <torch/torch.h>

namespace attention {

ScoreMod softcap(double cap) {
  TORCH_CHECK(cap > 0, "softcap: cap must be > 0, got ", cap);
  return [cap](const torch::Tensor& scores, const ScoreIndex&) { return (scores / cap).tanh() * cap; };
}

}  // namespace attention
