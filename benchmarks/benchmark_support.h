#pragma once
// What every benchmark file shares: the device and dtype of the run, and the timed loop.

#include <benchmark/benchmark.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <sys/resource.h>

namespace attention_benchmarks {

/// Device and dtype of every tensor and module (main() sets them from the command line).
inline torch::TensorOptions tensors = torch::TensorOptions(torch::kFloat);

inline torch::Tensor random(torch::IntArrayRef shape) { return torch::randn(shape, tensors); }

/// Waits for the device, so that a timed iteration includes its kernels.
inline void synchronize() {
  if (tensors.device().is_cuda()) {
    torch::cuda::synchronize();
  }
}

inline double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

/// Runs `forward` (returning a tensor) for the state's iterations, with a backward pass when `backward`.
template <typename Forward>
void run(benchmark::State& state, bool backward, Forward forward) {
  for (auto _ : state) {
    if (backward) {
      forward().sum().backward();
    } else {
      torch::NoGradGuard no_grad;
      benchmark::DoNotOptimize(forward());
    }
    synchronize();
  }
  state.counters["peak_rss_MiB"] = peak_rss_mib();
}

}  // namespace attention_benchmarks
