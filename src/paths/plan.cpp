#include "plan.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace attention::detail {
namespace {

/// `mask` (validated: broadcasts to the scores [..., Tq, Tk]) in the canonical mask layout
/// [B|1, Hkv|1, G|1, Tq|1, Tk|1]. A view unless the batch dimensions broadcast partly.
torch::Tensor canonical_mask(torch::Tensor mask, const torch::Tensor& query, bool has_heads, int64_t batch,
                             int64_t kv_heads, int64_t group) {
  const int64_t rank = query.dim();
  while (mask.dim() < rank) {
    mask = mask.unsqueeze(0);
  }
  const int64_t batch_dims = has_heads ? rank - 3 : rank - 2;
  bool batch_broadcasts = true;
  auto expanded = mask.sizes().vec();
  for (int64_t i = 0; i < batch_dims; ++i) {
    batch_broadcasts = batch_broadcasts && mask.size(i) == 1;
    expanded[i] = query.size(i);
  }
  if (!batch_broadcasts) {
    mask = mask.expand(expanded);
  }
  const bool per_head = has_heads && mask.size(rank - 3) != 1;
  return mask.reshape(
      {batch_broadcasts ? 1 : batch, per_head ? kv_heads : 1, per_head ? group : 1, mask.size(-2), mask.size(-1)});
}

}  // namespace

void check_mask_mod_result(const torch::Tensor& attended, torch::IntArrayRef tile) {
  TORCH_CHECK(attended.defined() && attended.scalar_type() == torch::kBool,
              "mask_mod must return a bool tensor (true = may attend), got ",
              attended.defined() ? c10::toString(attended.scalar_type()) : "an undefined tensor");
  bool broadcasts = attended.dim() <= static_cast<int64_t>(tile.size());
  for (int64_t i = 1; broadcasts && i <= attended.dim(); ++i) {
    const auto size = attended.size(-i);
    broadcasts = size == 1 || size == tile[tile.size() - i];
  }
  TORCH_CHECK(broadcasts, "mask_mod must return a mask that broadcasts to the tile ", tile, ", got ", attended.sizes(),
              " (combine the ScoreIndex tensors, which broadcast to it)");
}

torch::Tensor Slab::of(const torch::Tensor& x) const {
  return x.slice(0, batch_begin, batch_end).slice(1, head_begin, head_end);
}

bool ScoreRule::may_block() const {
  return allowed.defined() || causal || window.has_value() || score_mod != nullptr || mask_mod != nullptr;
}

std::pair<int64_t, int64_t> ScoreRule::key_range(int64_t q0, int64_t q1) const {
  int64_t first = 0, last = key_len;
  const int64_t first_position = q0 + query_offset, last_position = q1 - 1 + query_offset;
  if (causal) {
    last = std::min(last, last_position + 1);
  }
  if (window) {
    first = std::max(first, first_position - *window);
    if (!causal) {
      last = std::min(last, last_position + *window + 1);
    }
  }
  return {std::clamp<int64_t>(first, 0, key_len), std::clamp<int64_t>(last, 0, key_len)};
}

std::pair<int64_t, int64_t> ScoreRule::query_range(int64_t k0, int64_t k1) const {
  int64_t first = 0, last = query_len;
  if (causal) {
    first = std::max(first, k0 - query_offset);
  }
  if (window) {
    last = std::min(last, k1 + *window - query_offset);
    if (!causal) {
      first = std::max(first, k0 - *window - query_offset);
    }
  }
  return {std::clamp<int64_t>(first, 0, query_len), std::clamp<int64_t>(last, 0, query_len)};
}

torch::Tensor ScoreRule::mask_tile(const torch::Tensor& mask, const Slab& slab, int64_t q0, int64_t bq, int64_t k0,
                                   int64_t bk) const {
  auto tile = mask;
  if (tile.size(0) != 1) {
    tile = tile.slice(0, slab.batch_begin, slab.batch_end);
  }
  if (tile.size(1) != 1) {
    tile = tile.slice(1, slab.head_begin, slab.head_end);
  }
  if (tile.size(3) != 1) {
    tile = tile.slice(3, q0, q0 + bq);
  }
  if (tile.size(4) != 1) {
    tile = tile.slice(4, k0, k0 + bk);
  }
  return tile;
}

torch::Tensor ScoreRule::query_positions(int64_t q0, int64_t bq, const torch::Device& device) const {
  const auto first = q0 + query_offset;
  return torch::arange(first, first + bq, torch::TensorOptions(torch::kLong).device(device)).unsqueeze(1);
}

torch::Tensor ScoreRule::key_positions(int64_t k0, int64_t bk, const torch::Device& device) const {
  return torch::arange(k0, k0 + bk, torch::TensorOptions(torch::kLong).device(device)).unsqueeze(0);
}

torch::Tensor ScoreRule::add_biases(torch::Tensor scores, const Slab& slab, int64_t q0, int64_t k0,
                                    bool in_place) const {
  const auto bq = scores.size(-2), bk = scores.size(-1);
  if (additive.defined()) {
    const auto tile = mask_tile(additive, slab, q0, bq, k0, bk);
    scores = in_place ? scores.add_(tile) : scores + tile;
  }
  if (alibi_slopes.defined()) {
    const auto distance = (query_positions(q0, bq, scores.device()) - key_positions(k0, bk, scores.device()))
                              .abs()
                              .to(torch::kFloat);                               // [bq, bk]
    const auto slopes = alibi_slopes.slice(1, slab.head_begin, slab.head_end);  // [1, h, G, 1, 1]
    const auto bias = (slopes * distance).to(scores.scalar_type());             // [1, h, G, bq, bk]
    scores = in_place ? scores.sub_(bias) : scores - bias;
  }
  return scores;
}

ScoreIndex ScoreRule::index_of(const Slab& slab, int64_t q0, int64_t bq, int64_t k0, int64_t bk,
                               const torch::Device& device) const {
  const auto longs = torch::TensorOptions(torch::kLong).device(device);
  const auto heads = slab.head_end - slab.head_begin;
  ScoreIndex index;
  index.batch = (slab.sequence >= 0 ? torch::full({1}, slab.sequence, longs)
                                    : torch::arange(slab.batch_begin, slab.batch_end, longs))
                    .view({-1, 1, 1, 1, 1});
  index.head = (torch::arange(slab.head_begin, slab.head_end, longs).unsqueeze(1) * group +
                torch::arange(group, longs).unsqueeze(0))
                   .view({1, heads, group, 1, 1});
  index.query = query_positions(q0, bq, device).view({1, 1, 1, bq, 1});
  index.key = key_positions(k0, bk, device).view({1, 1, 1, 1, bk});
  return index;
}

torch::Tensor ScoreRule::modify(const torch::Tensor& scores, const Slab& slab, int64_t q0, int64_t k0) const {
  if (!score_mod) {
    return scores;
  }
  const auto modified = score_mod(scores, index_of(slab, q0, scores.size(-2), k0, scores.size(-1), scores.device()));
  TORCH_CHECK(modified.defined() && modified.sizes() == scores.sizes(),
              "score_mod must return scores of the shape it was given, ", scores.sizes(), ", got ",
              modified.defined() ? modified.sizes() : torch::IntArrayRef{},
              " (combine the ScoreIndex tensors with the scores, which broadcast to them)");
  TORCH_CHECK(modified.is_floating_point(), "score_mod must return floating scores, got ", modified.scalar_type());
  return modified.scalar_type() == scores.scalar_type() ? modified : modified.to(scores.scalar_type());
}

torch::Tensor ScoreRule::block(torch::Tensor scores, const Slab& slab, int64_t q0, int64_t k0, bool in_place,
                               bool use_mask_mod) const {
  const auto bq = scores.size(-2), bk = scores.size(-1);
  torch::Tensor blocked;
  if (allowed.defined()) {
    blocked = mask_tile(allowed, slab, q0, bq, k0, bk).logical_not();
  }
  if (mask_mod && use_mask_mod) {
    const auto attended = mask_mod(index_of(slab, q0, bq, k0, bk, scores.device()));
    check_mask_mod_result(attended, scores.sizes());
    blocked = blocked.defined() ? blocked.logical_or(attended.logical_not()) : attended.logical_not();
  }
  if (causal || window) {
    // Positions of the tile's corners: no per-entry test when the whole tile is visible.
    const int64_t first_query = q0 + query_offset, last_query = q0 + bq - 1 + query_offset;
    const int64_t first_key = k0, last_key = k0 + bk - 1;
    const bool all_visible =
        (!causal || last_key <= first_query) &&
        (!window || (last_query - first_key <= *window && (causal || last_key - first_query <= *window)));
    if (!all_visible) {
      const auto query = query_positions(q0, bq, scores.device()), key = key_positions(k0, bk, scores.device());
      auto hidden = causal ? key > query : torch::zeros({bq, bk}, query.options().dtype(torch::kBool));
      if (window) {
        hidden = hidden.logical_or((query - key).abs() > *window);
      }
      blocked = blocked.defined() ? blocked.logical_or(hidden) : hidden;
    }
  }
  if (!blocked.defined()) {
    return scores;
  }
  const auto minus_infinity = -std::numeric_limits<double>::infinity();
  return in_place ? scores.masked_fill_(blocked, minus_infinity) : scores.masked_fill(blocked, minus_infinity);
}

torch::Tensor ScoreRule::apply(torch::Tensor scores, const Slab& slab, int64_t q0, int64_t k0, bool in_place,
                               bool use_mask_mod) const {
  scores = add_biases(std::move(scores), slab, q0, k0, in_place);
  const bool modified = score_mod != nullptr;
  scores = modify(scores, slab, q0, k0);
  return block(std::move(scores), slab, q0, k0, in_place && !modified, use_mask_mod);
}

torch::Tensor Plan::to_caller(const torch::Tensor& canonical) const {
  auto shape = leading;
  shape.push_back(canonical.size(-2));
  shape.push_back(canonical.size(-1));
  return canonical.reshape(shape);
}

Plan make_plan(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
               const AttentionOptions& options) {
  const int64_t rank = query.dim();
  const bool has_heads = rank >= 4 || (rank == 3 && options.enable_gqa());
  const int64_t batch_dims = has_heads ? rank - 3 : rank - 2;
  int64_t batch = 1;
  for (int64_t i = 0; i < batch_dims; ++i) {
    batch *= query.size(i);
  }
  const int64_t heads = has_heads ? query.size(-3) : 1, kv_heads = has_heads ? key.size(-3) : 1;
  const int64_t group = heads / kv_heads;
  const int64_t query_len = query.size(-2), key_len = key.size(-2);

  Plan plan;
  plan.query = query.reshape({batch, kv_heads, group, query_len, query.size(-1)});
  plan.key = key.reshape({batch, kv_heads, key_len, key.size(-1)});
  plan.value = value.reshape({batch, kv_heads, key_len, value.size(-1)});
  plan.scale = options.scale() > 0 ? options.scale() : 1.0 / std::sqrt(static_cast<double>(query.size(-1)));
  plan.leading = query.sizes().slice(0, rank - 2).vec();

  auto& rule = plan.rule;
  rule.query_len = query_len;
  rule.key_len = key_len;
  rule.group = group;
  rule.query_offset = options.causal_alignment() == CausalAlignment::BottomRight ? key_len - query_len : 0;
  rule.causal = options.causal();
  rule.window = options.window();
  rule.score_mod = options.score_mod();
  plan.block_mask = options.block_mask();
  rule.mask_mod = plan.block_mask.defined() ? plan.block_mask.mask_mod() : options.mask_mod();
  if (const auto& mask = options.mask(); mask.defined()) {
    if (mask.scalar_type() == torch::kBool) {
      rule.allowed = canonical_mask(mask, query, has_heads, batch, kv_heads, group);
    } else {
      // Its -inf entries block; its finite part shifts the scores.
      const auto additive = canonical_mask(mask.to(query.scalar_type()), query, has_heads, batch, kv_heads, group);
      const auto blocked = additive.isneginf();
      rule.allowed = blocked.logical_not();
      rule.additive = additive.masked_fill(blocked, 0);
    }
  }
  if (const auto& slopes = options.alibi_slopes(); slopes.defined()) {
    rule.alibi_slopes = slopes.to(query.device(), torch::kFloat).view({1, kv_heads, group, 1, 1});
  }
  return plan;
}

}  // namespace attention::detail
