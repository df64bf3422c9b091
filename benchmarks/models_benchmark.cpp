// A model of GPT-2 small's shape (124M parameters, random weights, float32; written by benchmarks/gpt2_small.py,
// which also times PyTorch eager on it): prefill and per-token decoding against PyTorch's figures, a batch of 8
// prompts of different lengths against generating them one at a time, and the memory of loading it. Skipped
// unless ATTENTION_GPT2_SMALL names the folder. Part of attention_benchmark (README, "Performance").
#include "benchmark_support.h"

#include <attention/models.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace {

using attention_benchmarks::peak_rss_mib;

/// The model folder, or nothing (the benchmark is then skipped).
std::optional<std::string> model_folder(benchmark::State& state) {
  const char* folder = std::getenv("ATTENTION_GPT2_SMALL");
  if (folder == nullptr) {
    state.SkipWithError("set ATTENTION_GPT2_SMALL to the folder benchmarks/gpt2_small.py writes");
    return std::nullopt;
  }
  return std::string(folder);
}

const attention::CausalLM& gpt2_small(const std::string& folder) {
  static const auto model = attention::load_causal_lm(folder);
  return model;
}

/// A prompt of `length` random token ids.
std::vector<int64_t> prompt_of(int64_t length) {
  const auto ids = torch::randint(50257, {length}, torch::TensorOptions(torch::kLong)).contiguous();
  return {ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + length};
}

/// The prefill of a 512-token prompt (the logits of every position), then 32 tokens one at a time with a KVCache
/// per layer: prefill_ms and per_token_ms, as benchmarks/gpt2_small.py measures PyTorch eager.
void Gpt2Small(benchmark::State& state) {
  const auto folder = model_folder(state);
  if (!folder) {
    return;
  }
  const auto& model = gpt2_small(*folder);
  torch::manual_seed(0);
  const auto prompt = torch::randint(50257, {1, 512}, torch::TensorOptions(torch::kLong));
  double prefill = 0, decoding = 0;
  for (auto _ : state) {
    std::vector<attention::KVCache> caches(static_cast<size_t>(model.config().num_layers));
    auto start = std::chrono::steady_clock::now();
    auto logits = model.forward_cached(prompt, caches).logits;
    prefill += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    start = std::chrono::steady_clock::now();
    for (int step = 0; step < 32; ++step) {
      logits = model.forward_cached(logits.select(1, -1).argmax(-1, /*keepdim=*/true), caches).logits;
    }
    decoding += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / 32;
  }
  state.counters["prefill_ms"] = prefill / static_cast<double>(state.iterations());
  state.counters["per_token_ms"] = decoding / static_cast<double>(state.iterations());
}
BENCHMARK(Gpt2Small)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

/// 8 prompts of 8 to 512 tokens, 64 new tokens each (greedy): generate() of all 8 as one batch, or of each alone.
void Gpt2SmallGeneration(benchmark::State& state, bool together) {
  const auto folder = model_folder(state);
  if (!folder) {
    return;
  }
  const auto& model = gpt2_small(*folder);
  torch::manual_seed(0);
  std::vector<std::vector<int64_t>> prompts;
  for (int64_t i = 0; i < 8; ++i) {
    prompts.push_back(prompt_of(8 + i * (512 - 8) / 7));
  }
  const auto options = attention::GenerationOptions().max_new_tokens(64).eos_token_id(-1);
  for (auto _ : state) {
    if (together) {
      benchmark::DoNotOptimize(attention::generate(model, prompts, options));
    } else {
      for (const auto& prompt : prompts) {
        benchmark::DoNotOptimize(attention::generate(model, {prompt}, options));
      }
    }
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(8 * 64 * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(Gpt2SmallGeneration, together, true)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(Gpt2SmallGeneration, one_at_a_time, false)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// Loading the model: the process's peak resident memory before and after (run it alone, first:
/// --benchmark_filter=Gpt2SmallLoad), against the size of model.safetensors.
void Gpt2SmallLoad(benchmark::State& state) {
  const auto folder = model_folder(state);
  if (!folder) {
    return;
  }
  const auto before = peak_rss_mib();
  for (auto _ : state) {
    auto model = attention::load_causal_lm(*folder);
    benchmark::DoNotOptimize(model);
  }
  state.counters["peak_rss_before_MiB"] = before;
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  state.counters["file_MiB"] =
      static_cast<double>(std::filesystem::file_size(*folder + "/model.safetensors")) / (1024.0 * 1024.0);
}
BENCHMARK(Gpt2SmallLoad)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
