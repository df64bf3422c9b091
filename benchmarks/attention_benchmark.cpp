// Speed of the library's attention against LibTorch's own, of its three paths against each other, and of the
// features of modern decoders (key/value cache, sliding windows, grouped-query attention).
//
//   ./build/benchmarks/attention_benchmark [--threads=N] [--device=cuda] [--dtype=bfloat16|float16]
//                                         [google benchmark flags]
//
// Everything runs in one process with one LibTorch thread count (default: all cores; --threads=N), on one device
// in one dtype (default: CPU, float32), all recorded in the output's context, so ratios between rows of one run
// are fair. The README's "Performance" section gives the
// commands and the ratios measured on each platform.
#include "benchmark_support.h"

#include <attention/attention.h>

#include <benchmark/benchmark.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <iostream>
#include <string>
#include <thread>

#if TORCH_VERSION_MAJOR >= 2
#define ATTENTION_BENCHMARK_SDPA 1  // LibTorch's own fused at::scaled_dot_product_attention as a peer
#endif

namespace {

using attention::AttentionOptions;
using attention::AttentionPath;
using attention_benchmarks::random;
using attention_benchmarks::run;
using attention_benchmarks::synchronize;
using attention_benchmarks::tensors;

// ------------------------------------------------------------------------------ a layer: ours against LibTorch

/// Shapes of a multi-head attention layer: batch, tokens, embedding width, heads. The last is the issue's
/// BERT-base-sized layer.
void layer_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "T", "E", "H"});
  b->Args({8, 128, 256, 8});
  b->Args({4, 512, 512, 8});
  b->Args({8, 1024, 768, 12});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

struct Layer {
  int64_t B, T, E, H;
  torch::Tensor x;  // [B, T, E]
  torch::nn::MultiheadAttention theirs{nullptr};
  attention::MultiHeadAttention ours{nullptr};

  explicit Layer(const benchmark::State& state)
      : B(state.range(0)), T(state.range(1)), E(state.range(2)), H(state.range(3)) {
    torch::manual_seed(0);
    x = random({B, T, E});
    theirs = torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(E, H));
    ours = attention::MultiHeadAttention(attention::MultiHeadAttentionOptions(E, H).need_weights(false));
    attention::import_weights(*ours, *theirs);
    theirs->to(tensors.device(), tensors.dtype().toScalarType());
    ours->to(tensors.device(), tensors.dtype().toScalarType());
  }
};

void Ours(benchmark::State& state, bool backward) {
  Layer layer(state);
  run(state, backward, [&] { return layer.ours(layer.x, layer.x, layer.x).context; });
}

void LibTorchMultiheadAttention(benchmark::State& state, bool backward) {
  Layer layer(state);
  const auto sequence_first = layer.x.transpose(0, 1);  // LibTorch's module is sequence-first
  run(state, backward, [&] {
    return std::get<0>(layer.theirs->forward(sequence_first, sequence_first, sequence_first, {},
                                             /*need_weights=*/false));
  });
}

BENCHMARK_CAPTURE(Ours, forward, false)->Apply(layer_shapes);
BENCHMARK_CAPTURE(LibTorchMultiheadAttention, forward, false)->Apply(layer_shapes);
BENCHMARK_CAPTURE(Ours, forward_backward, true)->Apply(layer_shapes);
BENCHMARK_CAPTURE(LibTorchMultiheadAttention, forward_backward, true)->Apply(layer_shapes);

#ifdef ATTENTION_BENCHMARK_SDPA
/// The layer as LibTorch 2.x users write it by hand: one packed input Linear, at::scaled_dot_product_attention,
/// the output Linear (the same weights as ours).
void LinearSdpaLinear(benchmark::State& state, bool backward) {
  Layer layer(state);
  const auto B = layer.B, T = layer.T, E = layer.E, H = layer.H;
  run(state, backward, [&] {
    const auto qkv = torch::linear(layer.x, layer.theirs->in_proj_weight, layer.theirs->in_proj_bias).chunk(3, -1);
    const auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, E / H}).transpose(1, 2); };
    const auto context = at::scaled_dot_product_attention(heads(qkv[0]), heads(qkv[1]), heads(qkv[2]));
    return layer.theirs->out_proj(context.transpose(1, 2).reshape({B, T, E}));
  });
}
BENCHMARK_CAPTURE(LinearSdpaLinear, forward, false)->Apply(layer_shapes);
BENCHMARK_CAPTURE(LinearSdpaLinear, forward_backward, true)->Apply(layer_shapes);
#endif

// ------------------------------------------------------------------ the paths, and the evidence for Auto's rule

/// Attention alone, q, k, v [B, H, T, 64], with or without causal masking.
void path_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "H", "T", "causal"});
  for (const int64_t causal : {0, 1}) {
    b->Args({8, 12, 1024, causal});  // the layer above
    b->Args({1, 8, 4096, causal});
    b->Args({1, 1, 16384, causal});  // one long head
  }
  b->Args({8, 12, 512, 0});  // around the tiled path's threshold (Tq·Tk = 2^20 per head)
  b->Args({1, 1, 512, 0});
  b->Args({1, 1, 1024, 0});
  b->Args({1, 1, 4096, 0});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

struct Heads {
  torch::Tensor q, k, v;  // [B, H, T, 64]
  bool causal;

  explicit Heads(const benchmark::State& state) : causal(state.range(3) != 0) {
    torch::manual_seed(0);
    const auto shape = std::vector<int64_t>{state.range(0), state.range(1), state.range(2), 64};
    q = random(shape), k = random(shape), v = random(shape);
  }
  /// Q Kᵀ and P V: 4·T²·d flops per head, half of them under causal masking.
  void count_flops(benchmark::State& state) const {
    const double T = static_cast<double>(q.size(2)), heads = static_cast<double>(q.size(0) * q.size(1));
    state.counters["GFLOP/s"] =
        benchmark::Counter((causal ? 2.0 : 4.0) * T * T * 64 * heads * 1e-9 * static_cast<double>(state.iterations()),
                           benchmark::Counter::kIsRate);
  }
};

const char* path_name(AttentionPath path) {
  switch (path) {
    case AttentionPath::Materialized:
      return "materialized";
    case AttentionPath::Tiled:
      return "tiled";
    case AttentionPath::Fused:
      return "fused";
    default:
      return "auto";
  }
}

void Path(benchmark::State& state, AttentionPath path) {
  const Heads heads(state);
  const auto options = AttentionOptions().need_weights(false).causal(heads.causal).path(path);
  state.SetLabel(std::string("ran ") + path_name(attention::chosen_path(heads.q, heads.k, heads.v, options)));
  run(state, false,
      [&] { return attention::scaled_dot_product_attention(heads.q, heads.k, heads.v, options).context; });
  heads.count_flops(state);
}
BENCHMARK_CAPTURE(Path, materialized, AttentionPath::Materialized)->Apply(path_shapes);
BENCHMARK_CAPTURE(Path, tiled, AttentionPath::Tiled)->Apply(path_shapes);
BENCHMARK_CAPTURE(Path, auto, AttentionPath::Auto) -> Apply(path_shapes);
#ifdef ATTENTION_BENCHMARK_SDPA
BENCHMARK_CAPTURE(Path, fused, AttentionPath::Fused)->Apply(path_shapes);

void LibTorchSdpa(benchmark::State& state) {
  const Heads heads(state);
  run(state, false, [&] { return at::scaled_dot_product_attention(heads.q, heads.k, heads.v, {}, 0.0, heads.causal); });
  heads.count_flops(state);
}
BENCHMARK(LibTorchSdpa)->Apply(path_shapes);
#endif

/// Forward and backward (training), for the shapes where the choice is closest.
void training_path_shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"B", "H", "T", "causal"});
  b->Args({8, 12, 512, 0});
  b->Args({8, 12, 512, 1});
  b->Args({8, 12, 1024, 0});
  b->Args({8, 12, 1024, 1});
  b->Args({2, 12, 2048, 0});
  b->Args({1, 8, 4096, 0});
  b->Args({1, 8, 4096, 1});
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

void PathTraining(benchmark::State& state, AttentionPath path) {
  const Heads heads(state);
  const auto q = heads.q.detach().requires_grad_(), k = heads.k.detach().requires_grad_();
  const auto v = heads.v.detach().requires_grad_();
  const auto options = AttentionOptions().need_weights(false).causal(heads.causal).path(path);
  state.SetLabel(std::string("ran ") + path_name(attention::chosen_path(q, k, v, options)));
  run(state, true, [&] { return attention::scaled_dot_product_attention(q, k, v, options).context; });
}
BENCHMARK_CAPTURE(PathTraining, materialized, AttentionPath::Materialized)->Apply(training_path_shapes);
BENCHMARK_CAPTURE(PathTraining, tiled, AttentionPath::Tiled)->Apply(training_path_shapes);
BENCHMARK_CAPTURE(PathTraining, auto, AttentionPath::Auto) -> Apply(training_path_shapes);
#ifdef ATTENTION_BENCHMARK_SDPA
BENCHMARK_CAPTURE(PathTraining, fused, AttentionPath::Fused)->Apply(training_path_shapes);
#endif

/// Memory: one causal head of T = 32768 forward on Auto's path. Run it alone (its filter below) to read the
/// process's peak resident memory: the score matrix alone would take 4 GiB.
void LongCausalHead(benchmark::State& state) {
  torch::manual_seed(0);
  const auto T = state.range(0);
  const auto q = random({1, 1, T, 64}), k = random({1, 1, T, 64}), v = random({1, 1, T, 64});
  run(state, false, [&] {
    return attention::scaled_dot_product_attention(q, k, v, AttentionOptions().need_weights(false).causal(true))
        .context;
  });
}
BENCHMARK(LongCausalHead)->ArgName("T")->Arg(32768)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// ------------------------------------------------------------------------------ features of modern decoders

/// Generating `tokens` tokens one at a time with a causal, rotary, grouped-query layer (E 256, 8 heads, 2 key/value
/// heads): with a KVCache (each step attends once over the cache) or recomputing the full forward at each step.
void Generation(benchmark::State& state, bool cached) {
  const auto tokens = state.range(0);
  torch::manual_seed(0);
  attention::SelfAttention layer(
      attention::SelfAttentionOptions(256, 8).num_kv_heads(2).causal(true).rope(true).need_weights(false));
  layer->to(tensors.device(), tensors.dtype().toScalarType());
  const auto x = random({1, tokens, 256});
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    attention::KVCache cache;
    for (int64_t t = 0; t < tokens; ++t) {
      benchmark::DoNotOptimize(cached ? layer->forward_cached(x.slice(1, t, t + 1), cache).context
                                      : layer(x.slice(1, 0, t + 1)).context);
    }
    synchronize();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(tokens * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(Generation, kv_cache, true)
    ->ArgName("tokens")
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(Generation, full_recompute, false)
    ->ArgName("tokens")
    ->Arg(1024)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// One causal head of width 64 over T tokens, each query seeing its last `window` + 1 keys, against full causal
/// attention (window 0 = none). The window runs tiled and skips the tiles outside its band.
void SlidingWindow(benchmark::State& state) {
  const auto T = state.range(0), window = state.range(1);
  torch::manual_seed(0);
  const auto q = random({1, 1, T, 64}), k = random({1, 1, T, 64}), v = random({1, 1, T, 64});
  auto options = AttentionOptions().need_weights(false).causal(true);
  if (window > 0) {
    options.window(window);
  }
  run(state, false, [&] { return attention::scaled_dot_product_attention(q, k, v, options).context; });
}
BENCHMARK(SlidingWindow)
    ->ArgNames({"T", "window"})
    ->Args({65536, 256})
    ->Args({65536, 0})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// Grouped-query attention: a causal layer (B 4, T 1024, E 512, 8 heads) with `kv_heads` key/value heads;
/// kv_MiB counts the projected keys and values it attends over.
void GroupedHeads(benchmark::State& state) {
  const auto kv_heads = state.range(0);
  torch::manual_seed(0);
  attention::SelfAttention layer(
      attention::SelfAttentionOptions(512, 8).num_kv_heads(kv_heads).causal(true).need_weights(false));
  layer->to(tensors.device(), tensors.dtype().toScalarType());
  const auto x = random({4, 1024, 512});
  run(state, false, [&] { return layer(x).context; });
  state.counters["kv_MiB"] =
      2.0 * 4 * kv_heads * 1024 * (512 / 8) * static_cast<double>(tensors.dtype().itemsize()) / (1024.0 * 1024.0);
}
BENCHMARK(GroupedHeads)->ArgName("kv_heads")->Arg(8)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string device = "cpu", dtype = "float32";
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument.rfind("--threads=", 0) == 0) {
      threads = std::stoi(argument.substr(10));
    } else if (argument.rfind("--device=", 0) == 0) {
      device = argument.substr(9);
    } else if (argument.rfind("--dtype=", 0) == 0) {
      dtype = argument.substr(8);
    } else {
      rest.push_back(argv[i]);
    }
  }
  const auto scalar_type = dtype == "bfloat16" ? torch::kBFloat16 : dtype == "float16" ? torch::kHalf : torch::kFloat;
  if ((dtype != "float32" && scalar_type == torch::kFloat) || (device != "cpu" && device != "cuda")) {
    std::cerr << "attention_benchmark: --device is cpu or cuda, --dtype float32, bfloat16 or float16\n";
    return 2;
  }
  if (device == "cuda" && !torch::cuda::is_available()) {
    std::cerr << "attention_benchmark: --device=cuda, but LibTorch sees no CUDA device\n";
    return 1;
  }
  attention_benchmarks::tensors =
      torch::TensorOptions(scalar_type).device(device == "cuda" ? torch::kCUDA : torch::kCPU);
  if (device == "cuda") {
    // The long causal heads of the GPU table: 8 heads of width 64 over 65536 tokens.
    benchmark::RegisterBenchmark("Path/auto/long", Path, AttentionPath::Auto)
        ->ArgNames({"B", "H", "T", "causal"})
        ->Args({1, 8, 65536, 1})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
#ifdef ATTENTION_BENCHMARK_SDPA
    benchmark::RegisterBenchmark("LibTorchSdpa/long", LibTorchSdpa)
        ->ArgNames({"B", "H", "T", "causal"})
        ->Args({1, 8, 65536, 1})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
#endif
  }
  attention::set_num_threads(threads);
  benchmark::AddCustomContext("torch_threads", std::to_string(threads));
  benchmark::AddCustomContext("libtorch", TORCH_VERSION);
  benchmark::AddCustomContext("device", device);
  benchmark::AddCustomContext("dtype", dtype);
  int rest_count = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_count, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_count, rest.data())) {
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
