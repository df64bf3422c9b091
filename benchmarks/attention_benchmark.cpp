// Speed of the attention modules against LibTorch's own, and of the tiled path against the materialised one.
//
//   ./build/benchmarks/attention_benchmark [--threads=N] [google benchmark flags]
//
// Everything runs in one process with one thread count (default: all cores), so ratios between rows are fair.
// GFLOP/s counters read against the `Sgemm` row: this machine's matrix-product rate, measured in the same run.
#include <attention/attention.h>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <sys/resource.h>

#include <cstring>
#include <string>
#include <thread>

namespace {

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

/// Shapes of the module benchmarks: batch, tokens, embedding width, heads.
void module_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "T", "E", "H"});
  b->Args({8, 128, 256, 8});
  b->Args({4, 512, 512, 8});
  b->Args({1, 2048, 512, 8});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

struct ModuleCase {
  int64_t B, T, E, H;
  torch::Tensor x;
  torch::nn::MultiheadAttention theirs{nullptr};
  attention::MultiHeadAttention ours{nullptr};

  explicit ModuleCase(const benchmark::State& state)
      : B(state.range(0)), T(state.range(1)), E(state.range(2)), H(state.range(3)) {
    torch::manual_seed(0);
    x = torch::randn({B, T, E});
    theirs = torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(E, H));
    ours = attention::MultiHeadAttention(attention::MultiHeadAttentionOptions(E, H).need_weights(false));
    attention::import_weights(*ours, *theirs);
  }
};

/// Runs `forward` (returning the output) `state`'s iterations, with a backward pass when `backward`.
template <typename Forward>
void run(benchmark::State& state, bool backward, Forward forward) {
  for (auto _ : state) {
    if (backward) {
      forward().sum().backward();
    } else {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(forward());
    }
  }
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

void Ours(benchmark::State& state, bool backward) {
  ModuleCase c(state);
  run(state, backward, [&] { return c.ours(c.x, c.x, c.x).context; });
}

void LibTorch(benchmark::State& state, bool backward) {
  ModuleCase c(state);
  const auto seq_first = c.x.transpose(0, 1);  // LibTorch's module is sequence-first
  run(state, backward, [&] {
    return std::get<0>(c.theirs->forward(seq_first, seq_first, seq_first, {}, /*need_weights=*/false));
  });
}

/// The simple way: one head at a time, each with its slice of W_q, W_k, W_v.
void PerHeadLoop(benchmark::State& state, bool backward) {
  ModuleCase c(state);
  const auto head_dim = c.E / c.H;
  run(state, backward, [&] {
    std::vector<torch::Tensor> heads;
    for (int64_t h = 0; h < c.H; ++h) {
      const auto rows = [&](const torch::nn::Linear& linear) {
        return std::pair{linear->weight.slice(0, h * head_dim, (h + 1) * head_dim),
                         linear->bias.slice(0, h * head_dim, (h + 1) * head_dim)};
      };
      const auto [wq, bq] = rows(c.ours->W_q);
      const auto [wk, bk] = rows(c.ours->W_k);
      const auto [wv, bv] = rows(c.ours->W_v);
      const auto q = torch::linear(c.x, wq, bq), k = torch::linear(c.x, wk, bk), v = torch::linear(c.x, wv, bv);
      const auto weights = torch::softmax(torch::matmul(q, k.transpose(1, 2)) / std::sqrt(double(head_dim)), -1);
      heads.push_back(torch::matmul(weights, v));
    }
    return c.ours->W_o(torch::cat(heads, -1));
  });
}

BENCHMARK_CAPTURE(Ours, forward, false)->Apply(module_shapes);
BENCHMARK_CAPTURE(LibTorch, forward, false)->Apply(module_shapes);
BENCHMARK_CAPTURE(PerHeadLoop, forward, false)->Apply(module_shapes);
BENCHMARK_CAPTURE(Ours, forward_backward, true)->Apply(module_shapes);
BENCHMARK_CAPTURE(LibTorch, forward_backward, true)->Apply(module_shapes);
BENCHMARK_CAPTURE(PerHeadLoop, forward_backward, true)->Apply(module_shapes);

/// One head of width 64 over T tokens: the materialised path against the tiled one.
void OneHead(benchmark::State& state, attention::AttentionPath path) {
  const auto T = state.range(0);
  constexpr int64_t d = 64;
  torch::manual_seed(0);
  const auto q = torch::randn({1, T, d}), k = torch::randn({1, T, d}), v = torch::randn({1, T, d});
  const auto options = attention::AttentionOptions().need_weights(false).path(path);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    benchmark::DoNotOptimize(attention::scaled_dot_product_attention(q, k, v, options).context);
  }
  // Q Kᵀ and P V: 2 products of 2·T²·d flops.
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * T * T * d * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}
BENCHMARK_CAPTURE(OneHead, materialized, attention::AttentionPath::Materialized)
    ->ArgName("T")->Arg(1024)->Arg(4096)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(OneHead, tiled, attention::AttentionPath::Tiled)
    ->ArgName("T")->Arg(1024)->Arg(4096)->Arg(16384)->Unit(benchmark::kMillisecond)->UseRealTime();
// Run alone (--benchmark_filter=OneHead/tiled/T:65536) to read its peak memory.
BENCHMARK_CAPTURE(OneHead, tiled, attention::AttentionPath::Tiled)
    ->ArgName("T")->Arg(65536)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

/// This machine's matrix-product rate: one large float32 product.
void Sgemm(benchmark::State& state) {
  const auto n = state.range(0);
  const auto a = torch::randn({n, n}), b = torch::randn({n, n});
  for (auto _ : state) {
    benchmark::DoNotOptimize(torch::mm(a, b));
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * 1e-9 * state.iterations(),
                                                 benchmark::Counter::kIsRate);
}
BENCHMARK(Sgemm)->ArgName("n")->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      threads = std::stoi(argv[i] + 10);
    } else {
      rest.push_back(argv[i]);
    }
  }
  attention::set_num_threads(threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(threads));
  int rest_count = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_count, rest.data())) {
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
