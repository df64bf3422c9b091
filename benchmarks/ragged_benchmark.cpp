// Ragged batches: packed documents through varlen_attention against padding them and against one document mask,
// a block mask against the same mask_mod without one, and decoding many sequences from a PagedKVCache together
// against one at a time. Part of attention_benchmark (same flags; the README's "Performance" section).
#include "benchmark_support.h"

#include <attention/attention.h>

#include <vector>

namespace {

using attention::AttentionOptions;
using attention_benchmarks::random;
using attention_benchmarks::run;
using attention_benchmarks::synchronize;
using attention_benchmarks::tensors;

constexpr int64_t kHeads = 2, kWidth = 64;

/// 16 document lengths spaced evenly from 64 to 2048 tokens: 16,896 in all.
std::vector<int64_t> document_lengths() {
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < 16; ++i) {
    lengths.push_back(64 + i * (2048 - 64) / 15);
  }
  return lengths;
}

int64_t sum(const std::vector<int64_t>& values) {
  int64_t total = 0;
  for (const auto value : values) {
    total += value;
  }
  return total;
}

/// The 16 documents, causal, forward and backward (2 heads of width 64), three ways: packed through
/// varlen_attention; padded to the longest as a batch [16, 2, 2048, 64] with a padding mask; packed in one row of
/// 16,896 tokens with a document_mask (no block mask).
enum class Ragged { Varlen, Padded, DocumentMask };
void RaggedDocuments(benchmark::State& state, Ragged how) {
  torch::manual_seed(0);
  const auto lengths = document_lengths();
  const auto total = sum(lengths), longest = lengths.back(), count = static_cast<int64_t>(lengths.size());
  if (how == Ragged::Varlen) {
    const auto q = random({total, kHeads, kWidth}).requires_grad_(),
               k = random({total, kHeads, kWidth}).requires_grad_(),
               v = random({total, kHeads, kWidth}).requires_grad_();
    std::vector<int64_t> offsets{0};
    for (const auto length : lengths) {
      offsets.push_back(offsets.back() + length);
    }
    const auto cu_seqlens = torch::tensor(offsets);
    run(state, true, [&] {
      return attention::varlen_attention(q, k, v, cu_seqlens, cu_seqlens, AttentionOptions().causal(true)).context;
    });
  } else if (how == Ragged::Padded) {
    const auto q = random({count, kHeads, longest, kWidth}).requires_grad_(),
               k = random({count, kHeads, longest, kWidth}).requires_grad_(),
               v = random({count, kHeads, longest, kWidth}).requires_grad_();
    const auto padding = attention::padding_mask(torch::tensor(lengths).to(tensors.device()), longest);
    run(state, true, [&] {
      return attention::scaled_dot_product_attention(q, k, v,
                                                     AttentionOptions().causal(true).mask(padding).need_weights(false))
          .context;
    });
  } else {
    const auto q = random({1, kHeads, total, kWidth}).requires_grad_(),
               k = random({1, kHeads, total, kWidth}).requires_grad_(),
               v = random({1, kHeads, total, kWidth}).requires_grad_();
    std::vector<torch::Tensor> ids;
    for (int64_t i = 0; i < count; ++i) {
      ids.push_back(torch::full({lengths[static_cast<size_t>(i)]}, i, torch::kLong));
    }
    const auto documents = attention::document_mask(torch::cat(ids).to(tensors.device()));
    run(state, true, [&] {
      return attention::scaled_dot_product_attention(
                 q, k, v, AttentionOptions().causal(true).mask_mod(documents).need_weights(false))
          .context;
    });
  }
  state.counters["tokens"] = static_cast<double>(total);
}
BENCHMARK_CAPTURE(RaggedDocuments, varlen, Ragged::Varlen)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(RaggedDocuments, padded, Ragged::Padded)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(RaggedDocuments, document_mask, Ragged::DocumentMask)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// 16 documents of 1024 tokens in one causal row of T = 16384 (2 heads of width 64), forward: the document_mask
/// through a block mask (blocks of 128; made once, outside the timing, as a model makes it once per batch) against
/// the same mask_mod without one. BlockMaskCreation times create_block_mask itself.
void DocumentBlockMask(benchmark::State& state, bool with_block_mask) {
  torch::manual_seed(0);
  constexpr int64_t T = 16384;
  const auto q = random({1, kHeads, T, kWidth}), k = random({1, kHeads, T, kWidth}), v = random({1, kHeads, T, kWidth});
  const auto documents =
      attention::document_mask(torch::arange(T, torch::kLong).div(1024, "floor").to(tensors.device()));
  auto options = AttentionOptions().causal(true).need_weights(false);
  if (with_block_mask) {
    const auto block_mask = attention::create_block_mask(documents, 1, 1, T, T, 128, tensors.device());
    options.block_mask(block_mask);
    state.counters["sparsity"] = block_mask.sparsity();
  } else {
    options.mask_mod(documents);
  }
  run(state, false, [&] { return attention::scaled_dot_product_attention(q, k, v, options).context; });
}
BENCHMARK_CAPTURE(DocumentBlockMask, block_mask, true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(DocumentBlockMask, mask_mod_only, false)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BlockMaskCreation(benchmark::State& state) {
  constexpr int64_t T = 16384;
  const auto documents =
      attention::document_mask(torch::arange(T, torch::kLong).div(1024, "floor").to(tensors.device()));
  for (auto _ : state) {
    auto block_mask = attention::create_block_mask(documents, 1, 1, T, T, 128, tensors.device());
    benchmark::DoNotOptimize(block_mask);
    synchronize();
  }
}
BENCHMARK(BlockMaskCreation)->Unit(benchmark::kMillisecond)->UseRealTime();

/// A decoder block (SelfAttention E 1024, 16 heads, 4 key/value heads, rotary; then a SwiGLU MLP 1024 → 2816 →
/// 1024) decoding 8 sequences whose caches hold 100 to 4000 tokens: one token of each per step, all 8 in one
/// forward_paged call on a PagedKVCache of blocks of `block` tokens, or one sequence at a time with forward_cached
/// on a KVCache each.
struct DecoderBlock {
  DecoderBlock()
      : attention(
            attention::SelfAttentionOptions(1024, 16).num_kv_heads(4).causal(true).rope(true).need_weights(false)),
        gate(torch::nn::LinearOptions(1024, 2816).bias(false)),
        up(torch::nn::LinearOptions(1024, 2816).bias(false)),
        down(torch::nn::LinearOptions(2816, 1024).bias(false)) {
    for (torch::nn::Module* module :
         {static_cast<torch::nn::Module*>(attention.get()), static_cast<torch::nn::Module*>(gate.get()),
          static_cast<torch::nn::Module*>(up.get()), static_cast<torch::nn::Module*>(down.get())}) {
      module->to(tensors.device(), tensors.dtype().toScalarType());
    }
  }
  torch::Tensor mlp(const torch::Tensor& x) { return x + down(torch::silu(gate(x)) * up(x)); }

  attention::SelfAttention attention;
  torch::nn::Linear gate, up, down;
};

void PagedDecoding(benchmark::State& state, bool together) {
  torch::manual_seed(0);
  torch::NoGradGuard no_grad;
  DecoderBlock block;
  std::vector<int64_t> prompt_lengths;
  for (int64_t i = 0; i < 8; ++i) {
    prompt_lengths.push_back(100 + i * (4000 - 100) / 7);
  }
  attention::PagedKVCache paged(attention::PagedKVCacheOptions().block_size(together ? state.range(0) : 1));
  std::vector<int64_t> ids;
  std::vector<attention::KVCache> caches(prompt_lengths.size());
  for (size_t i = 0; i < prompt_lengths.size(); ++i) {  // the prompts, untimed
    const auto prompt = random({prompt_lengths[i], 1024});
    if (together) {
      ids.push_back(paged.add_sequence());
      block.attention->forward_paged(prompt, paged, {ids.back()}, {prompt_lengths[i]});
    } else {
      block.attention->forward_cached(prompt.unsqueeze(0), caches[i]);
    }
  }
  const auto count = static_cast<int64_t>(prompt_lengths.size());
  const std::vector<int64_t> one_each(prompt_lengths.size(), 1);
  for (auto _ : state) {
    const auto x = random({count, 1024});  // the next token of each sequence
    if (together) {
      benchmark::DoNotOptimize(block.mlp(block.attention->forward_paged(x, paged, ids, one_each).context));
    } else {
      for (int64_t i = 0; i < count; ++i) {
        benchmark::DoNotOptimize(
            block.mlp(block.attention->forward_cached(x.slice(0, i, i + 1).unsqueeze(0), caches[i]).context));
      }
    }
    synchronize();
  }
  state.counters["tokens/s"] =
      benchmark::Counter(static_cast<double>(count * state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(PagedDecoding, together, true)
    ->ArgName("block")
    ->Arg(16)
    ->Arg(256)
    ->Iterations(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK_CAPTURE(PagedDecoding, one_at_a_time, false)
    ->ArgName("block")
    ->Arg(0)
    ->Iterations(64)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
