// The tiled path: tiles of queries x keys, an online softmax with a running maximum and sum (Rabe & Staats 2021,
// FlashAttention), and a backward pass that recomputes each tile from the saved log-sum-exp, so neither direction
// ever holds a [Tq, Tk] matrix. The portable O(T)-memory path: any device, any LibTorch, every ScoreRule.
//
// Shapes (plan.h): query [B, Hkv, G, Tq, d], key [B, Hkv, Tk, d], value [B, Hkv, Tk, dv]. The rows are cut into
// Segments: one for dense batches, one per sequence for varlen_attention (whose sequences lie end to end in the
// rows of batch 0). A task takes a slab of batches and key/value heads of one segment and a block of its query
// rows (forward, grad query) or key rows (grad key and value); the G query heads of a key/value head are rows of
// the same products ([b, h, G·bq, d]), so K and V are read once for all of them and never repeated. A block mask
// makes the tiles its blocks: empty ones are skipped, full ones need no mask_mod. A block of a few query rows
// (decoding: a sequence's newest tokens against all its keys) takes its keys in one tile with an ordinary softmax
// instead (in_one_tile), by its own shape alone, so that a sequence's result never depends on the rest of the batch.
// !! On the CPU a task is one (batch, key/value head, block), and tasks run in parallel on LibTorch's threads
// (at::parallel_for), each running its tiles on its own thread; on other devices one task per block covers every
// batch and head, and the device parallelises each operation.
#include "blas_threads.h"
#include "paths.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

namespace attention::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// The state of every tile under a block mask (tiles are its blocks), for a slab of one batch and key/value head
/// and for a slab of all of them: a tile is empty when every block in it is, full when every one is.
class TileStates {
 public:
  TileStates() = default;
  /// `blocks` int8 [B|1, H|1, nq, nk] (BlockMask::blocks()) of query heads H = kv_heads · group.
  TileStates(const torch::Tensor& blocks, int64_t kv_heads, int64_t group) {
    const auto batches = blocks.size(0), heads = blocks.size(1), nq = blocks.size(2), nk = blocks.size(3);
    const auto grouped = blocks.view({batches, heads == 1 ? 1 : kv_heads, heads == 1 ? 1 : group, nq, nk});
    per_head_ = combine(grouped.amin(2), grouped.amax(2)).contiguous();  // [B|1, Hkv|1, nq, nk]
    whole_ = combine(blocks.amin({0, 1}), blocks.amax({0, 1})).contiguous();
    query_blocks_ = nq;
    key_blocks_ = nk;
  }
  bool defined() const { return per_head_.defined(); }

  BlockMask::State at(const Slab& slab, int64_t query_block, int64_t key_block) const {
    // One matrix of states covers the slab when it holds one batch and head, or the mask broadcasts over the rest.
    const bool single = (slab.batch_end - slab.batch_begin == 1 || per_head_.size(0) == 1) &&
                        (slab.head_end - slab.head_begin == 1 || per_head_.size(1) == 1);
    if (!single) {
      return state(whole_, 0, query_block, key_block);
    }
    const auto b = per_head_.size(0) == 1 ? 0 : slab.batch_begin, h = per_head_.size(1) == 1 ? 0 : slab.head_begin;
    return state(per_head_, b * per_head_.size(1) + h, query_block, key_block);
  }

 private:
  static torch::Tensor combine(const torch::Tensor& least, const torch::Tensor& most) {
    return torch::where(most == BlockMask::kEmpty, most,
                        torch::where(least == BlockMask::kFull, least, torch::full_like(least, BlockMask::kPartial)));
  }
  BlockMask::State state(const torch::Tensor& states, int64_t matrix, int64_t query_block, int64_t key_block) const {
    const auto* data = states.data_ptr<int8_t>();
    return static_cast<BlockMask::State>(data[(matrix * query_blocks_ + query_block) * key_blocks_ + key_block]);
  }

  torch::Tensor per_head_, whole_;
  int64_t query_blocks_ = 0, key_blocks_ = 0;
};

/// What the forward and backward passes share; it travels through the autograd context as a capsule.
struct Tiling : torch::CustomClassHolder {
  std::vector<Segment> segments;
  double scale = 1.0;
  int64_t query_block = 0;
  int64_t key_block = 0;
  TileStates tiles;            // under a block mask (then query_block = key_block = its block size)
  bool aligned_tiles = false;  // tiles start at multiples of their size: a block mask's blocks, a paged cache's

  /// Whether a score_mod re-enters autograd (which then stays on the calling thread).
  bool has_score_mod() const { return !segments.empty() && segments.front().rule.score_mod != nullptr; }
  /// Where a loop over tiles starts: `first`, or the start of its tile under a block mask.
  static int64_t tile_start(int64_t first, int64_t block) { return first / block * block; }
};

/// Runs `task(segment, slab, first, last)` over the rows [0, length(segment)) of every segment in blocks of `block`
/// rows (positions within the segment), without recording gradients. On the CPU, tasks are one (batch, key/value
/// head, block) each, run in parallel on LibTorch's threads (one thread per task); when the BLAS library runs its
/// own threads (blas_threads.h), or on other devices, one task per block covers every batch and head of the
/// segment instead, and the products parallelise themselves. Short segments' tasks take every head (below). `parallel`
/// false keeps everything on the calling thread (a score_mod's re-entrant autograd needs it). `layout` is any canonical
/// tensor [B, Hkv, ...].
template <typename Length, typename Task>
void for_each_block(const std::vector<Segment>& segments, const torch::Tensor& layout, const Length& length,
                    int64_t block, bool parallel, const Task& task) {
  const int64_t kv_heads = layout.size(1);
  const auto rows = [&](const Segment& segment, int64_t index) {
    return std::pair{index * block, std::min((index + 1) * block, length(segment))};
  };
  const auto blocks_of = [&](const Segment& segment) { return (length(segment) + block - 1) / block; };
  const auto whole_slabs = [&] {
    torch::NoGradGuard no_grad;
    for (const auto& segment : segments) {
      for (int64_t index = 0; index < blocks_of(segment); ++index) {
        const auto [first, last] = rows(segment, index);
        task(segment, Slab{segment.batch_begin, segment.batch_end, 0, kv_heads, segment.sequence}, first, last);
      }
    }
  };
  if (!layout.is_cpu()) {
    whole_slabs();
    return;
  }
  if (blas_runs_its_own_threads()) {
    on_calling_thread(whole_slabs);
    return;
  }
  // A task's tile has the rows of one key/value head's G query heads; where a segment's blocks are so short that
  // all the heads' rows together are no more than `block` (decoding: a few queries per sequence), one task takes
  // every head, so the tiles' per-operation cost is paid once instead of Hkv times.
  const int64_t group = layout.dim() == 5 ? layout.size(2) : 1;
  struct Item {
    const Segment* segment;
    int64_t batch, block, head_begin, head_end;
  };
  std::vector<Item> items;
  for (const auto& segment : segments) {
    const bool every_head = std::min(block, length(segment)) * group * kv_heads <= block;
    for (int64_t b = segment.batch_begin; b < segment.batch_end; ++b) {
      for (int64_t index = 0; index < blocks_of(segment); ++index) {
        for (int64_t h = 0; h < kv_heads; h += every_head ? kv_heads : 1) {
          items.push_back({&segment, b, index, h, every_head ? kv_heads : h + 1});
        }
      }
    }
  }
  const auto run = [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // grad mode is per thread: LibTorch's workers start with it on
    for (int64_t t = begin; t < end; ++t) {
      const auto& item = items[static_cast<size_t>(t)];
      const auto [first, last] = rows(*item.segment, item.block);
      task(*item.segment, Slab{item.batch, item.batch + 1, item.head_begin, item.head_end, item.segment->sequence},
           first, last);
    }
  };
  const auto tasks = static_cast<int64_t>(items.size());
  if (parallel) {
    at::parallel_for(0, tasks, /*grain_size=*/1, run);
  } else {
    run(0, tasks);
  }
}

/// Rows [first, last) of `x` [B, Hkv, G, T, w] in the slab, as [b, h, G·(last - first), w] in `dtype`.
torch::Tensor query_rows(const torch::Tensor& x, const Slab& slab, int64_t first, int64_t last,
                         torch::ScalarType dtype) {
  const auto rows = slab.of(x).slice(3, first, last).to(dtype);
  return rows.reshape({rows.size(0), rows.size(1), rows.size(2) * rows.size(3), rows.size(4)});
}

/// Rows [first, last) of `x` [B, Hkv, T, w] in the slab, [b, h, last - first, w] in `dtype`.
torch::Tensor key_rows(const torch::Tensor& x, const Slab& slab, int64_t first, int64_t last, torch::ScalarType dtype) {
  return slab.of(x).slice(2, first, last).to(dtype);
}

/// `rows` [b, h, G·n, w] written into rows [first, ...) of `x` [B, Hkv, G, T, w] (or of `x` [B, Hkv, G, T] when
/// w is 1 and `x` has 4 dimensions).
void store_query_rows(const torch::Tensor& x, const Slab& slab, int64_t first, const torch::Tensor& rows) {
  auto target = slab.of(x);
  const auto group = target.size(2), count = rows.size(2) / group;
  target = target.slice(3, first, first + count);
  target.copy_(rows.reshape(target.sizes()));
}

/// [b, h, G·bq, bk] ⇄ [b, h, G, bq, bk], the layout the rule works on.
torch::Tensor split_heads(const torch::Tensor& tile, int64_t group) {
  return tile.view({tile.size(0), tile.size(1), group, tile.size(2) / group, tile.size(3)});
}
torch::Tensor merge_heads(const torch::Tensor& tile) {
  return tile.reshape({tile.size(0), tile.size(1), tile.size(2) * tile.size(3), tile.size(4)});
}

/// -inf (a row with nothing visible yet) shifts by 0 instead, so exp(-inf - shift) stays 0, not NaN.
torch::Tensor finite_or_zero(const torch::Tensor& row_max) { return row_max.masked_fill(row_max.isneginf(), 0); }

/// A block of at most this many query rows per key/value head (G·bq) sees all its keys in one tile, when they are at
/// most kOneTileKeys: decoding, where each sequence's few new queries meet all its keys. An ordinary softmax over
/// the tile then replaces the online one, whose dozen operations per tile and sequence cost more than the tile's
/// products there. Whether a block takes it depends on its own segment and rows only, never on the rest of the batch.
constexpr int64_t kFewQueryRows = 16;
constexpr int64_t kOneTileKeys = 8 * kDefaultKeyBlock;

/// Whether every query row of [q0, q1) has some key to attend (a finite maximum score) whatever the scores: nothing
/// but causal and a window may hide a key, and those leave each row its own position.
bool every_row_sees_a_key(const ScoreRule& rule, int64_t q0, int64_t q1) {
  if (rule.allowed.defined() || rule.mask_mod || rule.score_mod || rule.key_len == 0) {
    return false;
  }
  return !(rule.causal || rule.window) || (q0 + rule.query_offset >= 0 && q1 - 1 + rule.query_offset < rule.key_len);
}

/// The rows of one query block, everything the backward pass needs of them, in the accumulator dtype.
struct QueryBlock {
  torch::Tensor queries;       // [b, h, G·bq, d], scaled
  torch::Tensor grad_context;  // [b, h, G·bq, dv]
  torch::Tensor log_sum_exp;   // [b, h, G·bq, 1]; +inf for a row with nothing visible
  torch::Tensor row_dot;       // [b, h, G·bq, 1]: dO_i · O_i - dlse_i
};

/// Softmax weights P and score gradients dS = P ∘ (dO Vᵀ - rowdot) of one tile, [b, h, G·bq, bk]. With a
/// score_mod, dS is carried back through it (re-entrant autograd); `accumulate_captured` also accumulates the
/// gradients of the tensors it captures, which must happen in exactly one of the two backward passes.
struct TileGradients {
  torch::Tensor weights;
  torch::Tensor score_gradient;
};
TileGradients tile_gradients(const ScoreRule& rule, const QueryBlock& rows, const torch::Tensor& keys,
                             const torch::Tensor& values, const Slab& slab, int64_t q0, int64_t k0, bool use_mask_mod,
                             bool accumulate_captured) {
  auto biased = rule.add_biases(split_heads(query_key_products(rows.queries, keys, /*elementwise=*/false), rule.group),
                                slab, q0, k0, true);
  torch::Tensor before_mod, modified;
  if (rule.score_mod) {
    torch::AutoGradMode record(true);
    before_mod = biased.detach().requires_grad_();
    modified = rule.modify(before_mod, slab, q0, k0);
  } else {
    modified = biased;
  }
  const auto scores =
      merge_heads(rule.block(modified.detach(), slab, q0, k0, /*in_place=*/!rule.score_mod, use_mask_mod));
  // Without a score_mod the tile is ours to overwrite; with one it may alias the score_mod's saved result.
  auto weights = (rule.score_mod ? scores.sub(rows.log_sum_exp) : scores.sub_(rows.log_sum_exp)).exp_();
  auto score_gradient = torch::matmul(rows.grad_context, values.transpose(-2, -1)).sub_(rows.row_dot).mul_(weights);
  if (rule.score_mod) {
    torch::AutoGradMode record(true);
    const auto gradient = split_heads(score_gradient, rule.group);
    torch::Tensor through;
    if (modified.requires_grad() && accumulate_captured) {
      torch::autograd::backward({modified}, {gradient}, /*retain_graph=*/true);
      through = before_mod.grad();
    } else if (modified.requires_grad()) {
      through = torch::autograd::grad({modified}, {before_mod}, {gradient}, /*retain_graph=*/true,
                                      /*create_graph=*/false, /*allow_unused=*/true)[0];
    }
    score_gradient = through.defined() ? merge_heads(through.detach()) : torch::zeros_like(score_gradient);
  }
  return {weights, score_gradient};
}

/// The tiles of one row of tiles: keys [first, last) in steps of `block` (from the start of a mask block under a
/// block mask), each with whether it is computed at all and whether it needs the mask_mod.
/// A paged segment's tiles of keys span this many keys (whole blocks of the cache), wherever its blocks lie: fewer,
/// longer tiles for decoding, the same ones whatever else the cache holds.
constexpr int64_t kPagedKeyTile = 4 * kDefaultKeyBlock;

/// The keys [k0, k1) of a segment in the slab, [b, h, k1 - k0, w] in `dtype`: rows of the tensor, or for a paged
/// segment, its blocks' rows (a view where they lie next to each other in the pool, joined where not).
torch::Tensor segment_key_rows(const torch::Tensor& x, const Slab& slab, const Segment& segment, int64_t k0, int64_t k1,
                               int64_t block, torch::ScalarType dtype) {
  std::vector<torch::Tensor> runs;
  for (int64_t start = k0, end = k0; start < k1; start = end) {
    end = std::min((start / block + 1) * block, k1);
    while (!segment.key_blocks.empty() && end < k1 &&
           segment.key_row(end, block) == segment.key_row(end - 1, block) + 1) {
      end = std::min(end + block, k1);
    }
    if (segment.key_blocks.empty()) {
      end = k1;
    }
    const auto row = segment.key_row(start, block);
    runs.push_back(key_rows(x, slab, row, row + end - start, dtype));
  }
  return runs.size() == 1 ? runs.front() : torch::cat(runs, 2);
}

/// The tiles of one row of tiles: keys [first, last) in steps of `step` (from a multiple of `block` under a block
/// mask or a paged cache), each with whether it is computed at all and whether it needs the mask_mod.
template <typename StateOf, typename Tile>
void for_each_tile(const Tiling& tiling, std::pair<int64_t, int64_t> range, int64_t block, int64_t step,
                   const StateOf& state_of, const Tile& tile) {
  const auto [first, last] = range;
  for (int64_t start = tiling.aligned_tiles ? Tiling::tile_start(first, block) : first; start < last; start += step) {
    const auto state = tiling.tiles.defined() ? state_of(start / block) : BlockMask::kPartial;
    if (state != BlockMask::kEmpty) {
      tile(start, std::min(start + step, last), state == BlockMask::kPartial);
    }
  }
}

/// Whether query rows [q0, q1) of `segment` take one tile of all their keys (kFewQueryRows, kOneTileKeys).
bool in_one_tile(const Tiling& tiling, const Segment& segment, int64_t q0, int64_t q1) {
  const auto [first, last] = segment.rule.key_range(q0, q1);
  return !tiling.tiles.defined() && segment.rule.group * (q1 - q0) <= kFewQueryRows && first < last &&
         last - first <= kOneTileKeys;
}

/// Query rows [q0, q1) of `segment` in the slab (`queries` [b, h, G·bq, d], scaled) against all their keys in one
/// tile, with an ordinary softmax: their context and log-sum-exp written into the forward pass's `context` and
/// `log_sum_exp` as the tiles' loop writes them.
void attend_in_one_tile(const Tiling& tiling, const Segment& segment, const Slab& slab, int64_t q0, int64_t q1,
                        const torch::Tensor& queries, const torch::Tensor& key, const torch::Tensor& value,
                        const torch::Tensor& context, const torch::Tensor& log_sum_exp) {
  const auto& rule = segment.rule;
  const auto accumulate = queries.scalar_type();
  const auto [first, last] = rule.key_range(q0, q1);
  const auto keys = segment_key_rows(key, slab, segment, first, last, tiling.key_block, accumulate);
  const auto values = segment_key_rows(value, slab, segment, first, last, tiling.key_block, accumulate);
  // Elementwise products for one row of a packed or paged sequence: their temporary, the size of its keys, is
  // bounded by kOneTileKeys; a dense batch's slab may hold every batch, so it keeps matmul.
  const bool elementwise = one_row_elementwise(queries) && segment.sequence >= 0;
  auto scores = merge_heads(rule.apply(split_heads(query_key_products(queries, keys, elementwise), rule.group), slab,
                                       q0, first, /*in_place=*/true));  // [b, h, G·bq, n]
  auto row_max = scores.amax(-1, /*keepdim=*/true);
  const bool visible = every_row_sees_a_key(rule, q0, q1);
  const auto shift = visible ? row_max : finite_or_zero(row_max);
  // a score_mod's result may alias a tensor it captured, so it is not overwritten
  const auto weights = (rule.score_mod ? scores.sub(shift) : scores.sub_(shift)).exp_();
  const auto sum = weights.sum(-1, /*keepdim=*/true);
  const auto rows = weighted_values(weights, values, elementwise);  // [b, h, G·bq, dv]
  const auto row0 = segment.query_start + q0;
  if (visible) {
    store_query_rows(context, slab, row0, rows.div_(sum));
    store_query_rows(log_sum_exp.unsqueeze(-1), slab, row0, row_max.add_(sum.log_()));
    return;
  }
  const auto seen = sum > 0;
  store_query_rows(context, slab, row0, rows.div_(torch::where(seen, sum, torch::ones_like(sum))));
  store_query_rows(log_sum_exp.unsqueeze(-1), slab, row0,
                   torch::where(seen, shift + sum.log(), torch::full_like(sum, kInfinity)));
}

class TiledAttention : public torch::autograd::Function<TiledAttention> {
 public:
  /// query [B, Hkv, G, Tq, d] (not scaled), key [B, Hkv, Tk, d], value [B, Hkv, Tk, dv] → context
  /// [B, Hkv, G, Tq, dv] and log-sum-exp [B, Hkv, G, Tq] (accumulator dtype, -inf for rows with nothing visible).
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& query, const torch::Tensor& key,
                               const torch::Tensor& value, const c10::intrusive_ptr<Tiling>& tiling) {
    const auto accumulate = accumulator_type(query.scalar_type());
    auto context_shape = query.sizes().vec();
    context_shape.back() = value.size(-1);
    auto context = torch::empty(context_shape, value.options());  // [B, Hkv, G, Tq, dv]; every row is written
    // +inf for a row with nothing visible, so that the backward pass's exp(s - lse) is 0 there
    auto log_sum_exp = torch::empty(query.sizes().slice(0, 4), query.options().dtype(accumulate));
    const auto query_len = [](const Segment& segment) { return segment.rule.query_len; };
    for_each_block(
        tiling->segments, query, query_len, tiling->query_block, /*parallel=*/true,
        [&](const Segment& segment, const Slab& slab, int64_t q0, int64_t q1) {
          const auto& rule = segment.rule;
          const auto row0 = segment.query_start;
          const auto queries =
              query_rows(query, slab, row0 + q0, row0 + q1, accumulate) * tiling->scale;  // [b, h, G·bq, d]
          if (in_one_tile(*tiling, segment, q0, q1)) {
            attend_in_one_tile(*tiling, segment, slab, q0, q1, queries, key, value, context, log_sum_exp);
            return;
          }
          auto row_shape = queries.sizes().vec();
          row_shape.back() = 1;
          auto running_max = torch::full(row_shape, -kInfinity, queries.options());  // [b, h, G·bq, 1]
          auto running_sum = torch::zeros(row_shape, queries.options());
          row_shape.back() = value.size(-1);
          auto accumulated = torch::zeros(row_shape, queries.options());  // [b, h, G·bq, dv]
          const auto state_of = [&](int64_t key_block) {
            return tiling->tiles.at(slab, q0 / tiling->query_block, key_block);
          };
          const auto step = segment.key_blocks.empty() ? tiling->key_block : kPagedKeyTile;
          for_each_tile(
              *tiling, rule.key_range(q0, q1), tiling->key_block, step, state_of,
              [&](int64_t k0, int64_t k1, bool use_mask_mod) {
                const auto keys = segment_key_rows(key, slab, segment, k0, k1, tiling->key_block, accumulate);
                const auto values = segment_key_rows(value, slab, segment, k0, k1, tiling->key_block, accumulate);
                const auto scores = merge_heads(rule.apply(
                    split_heads(query_key_products(queries, keys, /*elementwise=*/false), rule.group), slab, q0, k0,
                    /*in_place=*/true, use_mask_mod));  // [b, h, G·bq, bk]
                const auto new_max = torch::maximum(running_max, scores.amax(-1, /*keepdim=*/true));
                const auto shift = finite_or_zero(new_max);
                const auto rescale = (running_max - shift).exp_();  // 0 while nothing was visible
                // unnormalised; a score_mod's result may alias a tensor it captured, so it is
                // not overwritten
                const auto weights = (rule.score_mod ? scores.sub(shift) : scores.sub_(shift)).exp_();
                running_sum.mul_(rescale).add_(weights.sum(-1, /*keepdim=*/true));
                accumulated.mul_(rescale).add_(torch::matmul(weights, values));
                running_max = new_max;
              });
          const auto visible = running_sum > 0;
          accumulated.div_(torch::where(visible, running_sum, torch::ones_like(running_sum)));
          store_query_rows(context, slab, row0 + q0, accumulated);
          store_query_rows(log_sum_exp.unsqueeze(-1), slab, row0 + q0,
                           torch::where(visible, finite_or_zero(running_max) + running_sum.log(),
                                        torch::full_like(running_sum, kInfinity)));
        });
    ctx->save_for_backward({query, key, value, context, log_sum_exp});
    ctx->saved_data["tiling"] = c10::IValue::make_capsule(tiling);
    return {context, log_sum_exp.masked_fill(log_sum_exp.isposinf(), -kInfinity)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &query = saved[0], &key = saved[1], &value = saved[2], &context = saved[3], &log_sum_exp = saved[4];
    const auto tiling = c10::static_intrusive_pointer_cast<Tiling>(ctx->saved_data["tiling"].toCapsule());
    const auto accumulate = accumulator_type(query.scalar_type());
    const auto grad_context = grad_outputs[0].defined() ? grad_outputs[0] : torch::zeros_like(context);
    // dL/dS_ij = P_ij (dO_i · v_j - dO_i · O_i + dL/dlse_i): the last two terms once per row.
    auto row_dot = (grad_context.to(accumulate) * context.to(accumulate)).sum(-1, /*keepdim=*/true);
    if (grad_outputs[1].defined()) {
      row_dot = row_dot - grad_outputs[1].to(accumulate).unsqueeze(-1);
    }
    const auto rows_of = [&](const Segment& segment, const Slab& slab, int64_t q0, int64_t q1) {
      const auto first = segment.query_start + q0, last = segment.query_start + q1;
      return QueryBlock{query_rows(query, slab, first, last, accumulate) * tiling->scale,
                        query_rows(grad_context, slab, first, last, accumulate),
                        query_rows(log_sum_exp.unsqueeze(-1), slab, first, last, accumulate),
                        query_rows(row_dot, slab, first, last, accumulate)};
    };
    const bool parallel = !tiling->has_score_mod();
    auto grad_query = torch::empty_like(query), grad_key = torch::empty_like(key);  // every row is written
    auto grad_value = torch::empty_like(value);

    // Pass 1, per query block: dQ = scale · dS K.
    const auto query_len = [](const Segment& segment) { return segment.rule.query_len; };
    for_each_block(tiling->segments, query, query_len, tiling->query_block, parallel,
                   [&](const Segment& segment, const Slab& slab, int64_t q0, int64_t q1) {
                     const auto& rule = segment.rule;
                     const auto rows = rows_of(segment, slab, q0, q1);
                     auto grad = torch::zeros_like(rows.queries);  // [b, h, G·bq, d]
                     const auto state_of = [&](int64_t key_block) {
                       return tiling->tiles.at(slab, q0 / tiling->query_block, key_block);
                     };
                     for_each_tile(*tiling, rule.key_range(q0, q1), tiling->key_block, tiling->key_block, state_of,
                                   [&](int64_t k0, int64_t k1, bool use_mask_mod) {
                                     const auto row = segment.key_row(k0, tiling->key_block);
                                     const auto keys = key_rows(key, slab, row, row + k1 - k0, accumulate),
                                                values = key_rows(value, slab, row, row + k1 - k0, accumulate);
                                     const auto tile = tile_gradients(rule, rows, keys, values, slab, q0, k0,
                                                                      use_mask_mod, /*accumulate_captured=*/false);
                                     grad.add_(torch::matmul(tile.score_gradient, keys));
                                   });
                     store_query_rows(grad_query, slab, segment.query_start + q0, grad.mul_(tiling->scale));
                   });

    // Pass 2, per key block: dV = Pᵀ dO and dK = dSᵀ Q (scaled), summed over the G query heads.
    const auto key_len = [](const Segment& segment) { return segment.rule.key_len; };
    for_each_block(tiling->segments, key, key_len, tiling->key_block, parallel,
                   [&](const Segment& segment, const Slab& slab, int64_t k0, int64_t k1) {
                     const auto& rule = segment.rule;
                     const auto row = segment.key_row(k0, tiling->key_block);
                     const auto keys = key_rows(key, slab, row, row + k1 - k0, accumulate),
                                values = key_rows(value, slab, row, row + k1 - k0, accumulate);
                     auto grad_keys = torch::zeros_like(keys), grad_values = torch::zeros_like(values);
                     const auto state_of = [&](int64_t query_block) {
                       return tiling->tiles.at(slab, query_block, k0 / tiling->key_block);
                     };
                     for_each_tile(*tiling, rule.query_range(k0, k1), tiling->query_block, tiling->query_block,
                                   state_of, [&](int64_t q0, int64_t q1, bool use_mask_mod) {
                                     const auto rows = rows_of(segment, slab, q0, q1);
                                     const auto tile =
                                         tile_gradients(rule, rows, keys, values, slab, q0, k0, use_mask_mod,
                                                        /*accumulate_captured=*/true);
                                     grad_values.add_(torch::matmul(tile.weights.transpose(-2, -1), rows.grad_context));
                                     grad_keys.add_(torch::matmul(tile.score_gradient.transpose(-2, -1), rows.queries));
                                   });
                     slab.of(grad_key).slice(2, row, row + k1 - k0).copy_(grad_keys);
                     slab.of(grad_value).slice(2, row, row + k1 - k0).copy_(grad_values);
                   });
    return {grad_query, grad_key, grad_value, torch::Tensor()};
  }
};

}  // namespace

TiledResult tiled_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                            double scale, std::vector<Segment> segments, int64_t query_block, int64_t key_block,
                            const BlockMask& block_mask) {
  auto tiling = c10::make_intrusive<Tiling>();
  tiling->segments = std::move(segments);
  tiling->scale = scale;
  tiling->query_block = query_block;
  tiling->key_block = key_block;
  if (block_mask.defined()) {
    tiling->query_block = tiling->key_block = block_mask.block_size();
    tiling->tiles = TileStates(block_mask.blocks(), query.size(1), query.size(2));
  }
  tiling->aligned_tiles = block_mask.defined() || std::any_of(tiling->segments.begin(), tiling->segments.end(),
                                                              [](const Segment& s) { return !s.key_blocks.empty(); });
  const auto outputs = TiledAttention::apply(query, key, value, tiling);
  return {outputs[0], outputs[1]};
}

}  // namespace attention::detail
