// Causal attention over a long sequence split across processes (ring_attention) against one process attending the
// whole sequence (scaled_dot_product_attention, tiled), forward and backward, with each process's peak memory.
//
//   One process of 2 threads:   ./build/benchmarks/ring_attention_benchmark --threads=2
//   2 processes of 1 thread:    ./build/tests/attention_test_launch --nproc 2 --timeout 600 --
//                                 ./build/benchmarks/ring_attention_benchmark --threads=1
//   (or torchrun --no_python --redirects 9:1 --tee 9:1 --nproc_per_node 2 ...)
//
// Started by a launcher it joins the process group and runs the Ring benchmarks (rank 0 reports, peak_rss_MiB is
// rank 0's); alone it runs the Whole ones. One head (B = 1, H = 1), d = 64, float32.

#include "benchmark_support.h"

#include <attention/distributed.h>
#include <attention/functional.h>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

namespace {

constexpr int64_t kHeads = 1;
constexpr int64_t kWidth = 64;

std::optional<attention::DistributedProcess> process;

torch::Tensor leaf(int64_t length) { return torch::randn({1, kHeads, length, kWidth}).requires_grad_(true); }

void BM_WholeCausal(benchmark::State& state) {
  if (process) {
    state.SkipWithError("runs in one process (start it without a launcher)");
    return;
  }
  const auto length = state.range(0);
  auto query = leaf(length), key = leaf(length), value = leaf(length);
  for (auto _ : state) {
    attention::scaled_dot_product_attention(query, key, value,
                                            attention::AttentionOptions().causal(true).need_weights(false))
        .context.sum()
        .backward();
  }
  state.counters["peak_rss_MiB"] = attention_benchmarks::peak_rss_mib();
}

void BM_RingCausal(benchmark::State& state, attention::SequenceLayout layout) {
  if (!process) {
    state.SkipWithError("needs a launcher (attention_test_launch or torchrun)");
    return;
  }
  const auto length = state.range(0) / process->world_size;
  auto query = leaf(length), key = leaf(length), value = leaf(length);
  const auto options = attention::RingAttentionOptions().causal(true).layout(layout);
  for (auto _ : state) {
    attention::ring_attention(query, key, value, process->group, options).sum().backward();
  }
  state.counters["peak_rss_MiB"] = attention_benchmarks::peak_rss_mib();
  state.counters["ranks"] = static_cast<double>(process->world_size);
}

// Fixed iterations: every rank must run the same number of rings.
BENCHMARK(BM_WholeCausal)->Arg(8192)->Arg(65536)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_RingCausal, zigzag, attention::SequenceLayout::Zigzag)
    ->Arg(8192)
    ->Arg(65536)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_RingCausal, contiguous, attention::SequenceLayout::Contiguous)
    ->Arg(8192)
    ->Arg(65536)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// Lets ranks other than 0 run silently.
class QuietReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument.rfind("--threads=", 0) == 0) {
      threads = std::stoi(argument.substr(10));
    } else {
      rest.push_back(argv[i]);
    }
  }
  attention::set_num_threads(threads);
  process = attention::join_process_group_from_environment(
      attention::ProcessGroupOptions().timeout(std::chrono::minutes(10)));
  benchmark::AddCustomContext("torch_threads", std::to_string(threads));
  benchmark::AddCustomContext("processes", std::to_string(process ? process->world_size : 1));
  int rest_count = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_count, rest.data());
  QuietReporter quiet;
  if (process && process->rank != 0) {
    benchmark::RunSpecifiedBenchmarks(&quiet);
  } else {
    benchmark::RunSpecifiedBenchmarks();
  }
  benchmark::Shutdown();
  return 0;
}
