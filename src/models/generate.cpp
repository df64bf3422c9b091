// generate(): a batch of prompts of different lengths, prefilled together, then decoded one token a step for every
// unfinished sequence, over one PagedKVCache per layer.
#include <attention/models.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>

namespace attention {
namespace {

/// The next token from `logits` [V] (float32): the most likely, or sampled with the options from `generator`.
int64_t choose(const torch::Tensor& logits, const GenerationOptions& options, torch::Generator& generator) {
  if (options.greedy()) {
    return logits.argmax().item<int64_t>();
  }
  auto scaled = logits / options.temperature();
  if (options.top_k() > 0 && options.top_k() < scaled.size(0)) {
    const auto kth = std::get<0>(scaled.topk(options.top_k())).min();
    scaled = scaled.masked_fill(scaled < kth, -INFINITY);
  }
  if (options.top_p() < 1.0) {
    const auto [sorted, order] = scaled.sort(/*dim=*/0, /*descending=*/true);
    const auto probabilities = sorted.softmax(0);
    // keep the most likely tokens up to and including the one that brings the mass to top_p
    const auto before = probabilities.cumsum(0) - probabilities;
    scaled = scaled.index_put({order.masked_select(before >= options.top_p())}, torch::tensor(-INFINITY));
  }
  return torch::multinomial(scaled.softmax(0), 1, /*replacement=*/false, generator).item<int64_t>();
}

}  // namespace

std::vector<std::vector<int64_t>> generate(const CausalLM& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const GenerationOptions& options) {
  TORCH_CHECK(options.max_new_tokens() >= 0, "generate: max_new_tokens must be >= 0, got ", options.max_new_tokens());
  TORCH_CHECK(options.greedy() ||
                  (options.temperature() > 0 && options.top_k() >= 0 && options.top_p() > 0 && options.top_p() <= 1),
              "generate: sampling needs temperature > 0, top_k >= 0 and top_p in (0, 1]");
  const auto eos = options.eos_token_id() ? options.eos_token_id() : model.config().eos_token_id;
  std::vector<std::vector<int64_t>> continuations(prompts.size());
  if (options.max_new_tokens() == 0 || prompts.empty()) {
    return continuations;
  }
  auto caches = model.make_paged_caches(options.block_size());
  std::vector<int64_t> ids, counts, packed;
  std::vector<torch::Generator> generators;
  for (size_t i = 0; i < prompts.size(); ++i) {
    TORCH_CHECK(!prompts[i].empty(), "generate: prompt ", i, " has no tokens");
    int64_t id = 0;
    for (auto& cache : caches) {
      id = cache.add_sequence();  // every layer's cache numbers its sequences alike
    }
    ids.push_back(id);
    counts.push_back(static_cast<int64_t>(prompts[i].size()));
    packed.insert(packed.end(), prompts[i].begin(), prompts[i].end());
    generators.push_back(torch::make_generator<at::CPUGeneratorImpl>(options.seed() * 1000003 + i));
  }
  std::vector<size_t> running(prompts.size());
  for (size_t i = 0; i < running.size(); ++i) {
    running[i] = i;
  }
  auto logits =
      model.forward_paged(torch::tensor(packed, torch::kLong), caches, ids, counts, /*last_only=*/true).logits;
  while (!running.empty()) {
    std::vector<size_t> still;
    std::vector<int64_t> next_ids, next_tokens;
    const auto rows = logits.to(torch::kCPU);
    for (size_t row = 0; row < running.size(); ++row) {
      const auto i = running[row];
      const auto token = choose(rows[static_cast<int64_t>(row)], options, generators[i]);
      if (eos && token == *eos) {
        continue;
      }
      continuations[i].push_back(token);
      if (options.on_token()) {
        options.on_token()(i, token);
      }
      if (static_cast<int64_t>(continuations[i].size()) < options.max_new_tokens()) {
        still.push_back(i);
        next_ids.push_back(ids[i]);
        next_tokens.push_back(token);
      }
    }
    running = std::move(still);
    if (running.empty()) {
      break;
    }
    logits = model
                 .forward_paged(torch::tensor(next_tokens, torch::kLong), caches, next_ids,
                                std::vector<int64_t>(next_ids.size(), 1), /*last_only=*/true)
                 .logits;
  }
  return continuations;
}

}  // namespace attention
