// Uses the installed attention library: builds a MultiHeadAttention, checks its output, and trains it a few
// steps towards a fixed target. Exit code 0 when every check passes, 1 otherwise.
#include <attention/attention.h>

#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>

#include <cmath>
#include <cstdio>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) {
    ++failures;
  }
}

}  // namespace

int main() {
  check(ATTENTION_VERSION_MAJOR == 0 && ATTENTION_VERSION_MINOR >= 1,
        "attention/version.h is installed: " ATTENTION_VERSION_STRING);

  torch::manual_seed(0);
  constexpr int64_t batch = 2, length = 5, embed = 8, heads = 2;
  attention::MultiHeadAttention mha(attention::MultiHeadAttentionOptions(embed, heads).causal(true));
  const auto x = torch::randn({batch, length, embed});
  const auto target = torch::randn({batch, length, embed});

  auto out = mha(x, x, x);
  check(out.context.sizes() == torch::IntArrayRef({batch, length, embed}), "context is [2, 5, 8]");
  check(out.weights.sizes() == torch::IntArrayRef({batch, heads, length, length}), "weights are [2, 2, 5, 5]");
  check(torch::allclose(out.weights.sum(-1), torch::ones({batch, heads, length})), "weight rows sum to 1");
  check(out.weights.triu(1).abs().max().item<float>() == 0.0f, "causal: no weight on future keys");

  torch::optim::SGD optimizer(mha->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  float first = 0.0f;
  float last = 0.0f;
  for (int step = 0; step < 60; ++step) {
    optimizer.zero_grad();
    auto loss = torch::nn::functional::mse_loss(mha(x, x, x).context, target);
    loss.backward();
    optimizer.step();
    last = loss.item<float>();
    if (step == 0) {
      first = last;
    }
  }
  std::printf("loss %.4f -> %.4f after 60 SGD steps\n", first, last);
  check(std::isfinite(last) && last < 0.5f * first, "training halves the loss");

  if (failures != 0) {
    std::printf("%d check(s) failed\n", failures);
    return 1;
  }
  std::printf("all checks passed\n");
  return 0;
}
