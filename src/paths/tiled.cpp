// The tiled path: tiles of queries x keys, an online softmax with a running maximum and sum (Rabe & Staats 2021,
// FlashAttention), and a backward pass that recomputes each tile from the saved log-sum-exp, so neither direction
// ever holds a [Tq, Tk] matrix. The portable O(T)-memory path: any device, any LibTorch, every ScoreRule.
//
// Shapes (plan.h): query [B, Hkv, G, Tq, d], key [B, Hkv, Tk, d], value [B, Hkv, Tk, dv]. A task takes a slab of
// batches and key/value heads and a block of query rows (forward, grad query) or key rows (grad key and value);
// the G query heads of a key/value head are rows of the same products ([b, h, G·bq, d]), so K and V are read
// once for all of them and never repeated.
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

namespace attention::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

/// What the forward and backward passes share; it travels through the autograd context as a capsule.
struct Tiling : torch::CustomClassHolder {
  ScoreRule rule;
  double scale = 1.0;
  int64_t query_block = 0;
  int64_t key_block = 0;
};

/// float32 accumulators for float16/bfloat16 inputs; the input's own dtype otherwise.
torch::ScalarType accumulator_type(torch::ScalarType dtype) {
  return dtype == torch::kHalf || dtype == torch::kBFloat16 ? torch::kFloat : dtype;
}

/// Runs `task(slab, first, last)` over [0, length) in blocks of `block` rows, without recording gradients.
/// On the CPU, tasks are one (batch, key/value head, block) each, run in parallel on LibTorch's threads (one
/// thread per task); when the BLAS library runs its own threads (blas_threads.h), or on other devices, one task per
/// block covers every batch and head instead, and the products parallelise themselves. `parallel` false keeps
/// everything on the calling thread (a score_mod's re-entrant autograd needs it). `layout` is any canonical
/// tensor [B, Hkv, ...].
template <typename Task>
void for_each_block(const torch::Tensor& layout, int64_t length, int64_t block, bool parallel, const Task& task) {
  const int64_t batch = layout.size(0), kv_heads = layout.size(1);
  const int64_t blocks = (length + block - 1) / block;
  const auto rows = [&](int64_t index) { return std::pair{index * block, std::min((index + 1) * block, length)}; };
  const auto whole_slabs = [&] {
    torch::NoGradGuard no_grad;
    for (int64_t index = 0; index < blocks; ++index) {
      const auto [first, last] = rows(index);
      task(Slab{0, batch, 0, kv_heads}, first, last);
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
  const auto run = [&](int64_t begin, int64_t end) {
    torch::NoGradGuard no_grad;  // grad mode is per thread: LibTorch's workers start with it on
    for (int64_t t = begin; t < end; ++t) {
      const int64_t b = t / (kv_heads * blocks), h = t / blocks % kv_heads;
      const auto [first, last] = rows(t % blocks);
      task(Slab{b, b + 1, h, h + 1}, first, last);
    }
  };
  if (parallel) {
    at::parallel_for(0, batch * kv_heads * blocks, /*grain_size=*/1, run);
  } else {
    run(0, batch * kv_heads * blocks);
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

/// A tile of query rows (scaled) against keys: [b, h, G·bq, bk] before the rule.
torch::Tensor raw_scores(const torch::Tensor& queries, const torch::Tensor& keys) {
  return torch::matmul(queries, keys.transpose(-2, -1));
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

/// The rows of one query block, everything the backward pass needs of them, in the accumulator dtype.
struct QueryBlock {
  torch::Tensor queries;       // [b, h, G·bq, d], scaled
  torch::Tensor grad_context;  // [b, h, G·bq, dv]
  torch::Tensor log_sum_exp;   // [b, h, G·bq, 1]; +inf for a row with nothing visible
  torch::Tensor row_dot;       // [b, h, G·bq, 1]: dO_i · O_i
};

/// Softmax weights P and score gradients dS = P ∘ (dO Vᵀ - rowdot) of one tile, [b, h, G·bq, bk]. With a
/// score_mod, dS is carried back through it (re-entrant autograd); `accumulate_captured` also accumulates the
/// gradients of the tensors it captures, which must happen in exactly one of the two backward passes.
struct TileGradients {
  torch::Tensor weights;
  torch::Tensor score_gradient;
};
TileGradients tile_gradients(const Tiling& tiling, const QueryBlock& rows, const torch::Tensor& keys,
                             const torch::Tensor& values, const Slab& slab, int64_t q0, int64_t k0,
                             bool accumulate_captured) {
  const auto& rule = tiling.rule;
  auto biased = rule.add_biases(split_heads(raw_scores(rows.queries, keys), rule.group), slab, q0, k0, true);
  torch::Tensor before_mod, modified;
  if (rule.score_mod) {
    torch::AutoGradMode record(true);
    before_mod = biased.detach().requires_grad_();
    modified = rule.modify(before_mod, slab, q0, k0);
  } else {
    modified = biased;
  }
  const auto scores = merge_heads(rule.block(modified.detach(), slab, q0, k0, /*in_place=*/!rule.score_mod));
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

class TiledAttention : public torch::autograd::Function<TiledAttention> {
 public:
  /// query [B, Hkv, G, Tq, d] (not scaled), key [B, Hkv, Tk, d], value [B, Hkv, Tk, dv] → [B, Hkv, G, Tq, dv].
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& query, const torch::Tensor& key,
                               const torch::Tensor& value, const c10::intrusive_ptr<Tiling>& tiling) {
    const auto& rule = tiling->rule;
    const auto accumulate = accumulator_type(query.scalar_type());
    auto context_shape = query.sizes().vec();
    context_shape.back() = value.size(-1);
    auto context = torch::empty(context_shape, value.options());  // [B, Hkv, G, Tq, dv]
    auto log_sum_exp = torch::empty(query.sizes().slice(0, 4), query.options().dtype(accumulate));  // [B, Hkv, G, Tq]
    for_each_block(
        query, rule.query_len, tiling->query_block, /*parallel=*/true, [&](const Slab& slab, int64_t q0, int64_t q1) {
          const auto queries = query_rows(query, slab, q0, q1, accumulate) * tiling->scale;  // [b, h, G·bq, d]
          auto row_shape = queries.sizes().vec();
          row_shape.back() = 1;
          auto running_max = torch::full(row_shape, -kInfinity, queries.options());  // [b, h, G·bq, 1]
          auto running_sum = torch::zeros(row_shape, queries.options());
          row_shape.back() = value.size(-1);
          auto accumulated = torch::zeros(row_shape, queries.options());  // [b, h, G·bq, dv]
          const auto [first_key, last_key] = rule.key_range(q0, q1);
          for (int64_t k0 = first_key; k0 < last_key; k0 += tiling->key_block) {
            const auto k1 = std::min(k0 + tiling->key_block, last_key);
            const auto keys = key_rows(key, slab, k0, k1, accumulate),
                       values = key_rows(value, slab, k0, k1, accumulate);
            const auto scores = merge_heads(rule.apply(split_heads(raw_scores(queries, keys), rule.group), slab, q0, k0,
                                                       /*in_place=*/true));  // [b, h, G·bq, bk]
            const auto new_max = torch::maximum(running_max, scores.amax(-1, /*keepdim=*/true));
            const auto shift = finite_or_zero(new_max);
            const auto rescale = (running_max - shift).exp_();  // 0 while nothing was visible
            // unnormalised; a score_mod's result may alias a tensor it captured, so it is not overwritten
            const auto weights = (rule.score_mod ? scores.sub(shift) : scores.sub_(shift)).exp_();
            running_sum.mul_(rescale).add_(weights.sum(-1, /*keepdim=*/true));
            accumulated.mul_(rescale).add_(torch::matmul(weights, values));
            running_max = new_max;
          }
          const auto visible = running_sum > 0;
          accumulated.div_(torch::where(visible, running_sum, torch::ones_like(running_sum)));
          store_query_rows(context, slab, q0, accumulated);
          store_query_rows(log_sum_exp.unsqueeze(-1), slab, q0,
                           torch::where(visible, finite_or_zero(running_max) + running_sum.log(),
                                        torch::full_like(running_sum, kInfinity)));
        });
    ctx->save_for_backward({query, key, value, context, log_sum_exp});
    ctx->saved_data["tiling"] = c10::IValue::make_capsule(tiling);
    return context;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &query = saved[0], &key = saved[1], &value = saved[2], &context = saved[3], &log_sum_exp = saved[4];
    const auto tiling = c10::static_intrusive_pointer_cast<Tiling>(ctx->saved_data["tiling"].toCapsule());
    const auto& rule = tiling->rule;
    const auto accumulate = accumulator_type(query.scalar_type());
    const auto& grad_context = grad_outputs[0];  // [B, Hkv, G, Tq, dv]
    // dL/dS_ij = P_ij (dO_i · v_j - dO_i · O_i): the second term once per row.
    const auto row_dot = (grad_context.to(accumulate) * context.to(accumulate)).sum(-1, /*keepdim=*/true);
    const auto rows_of = [&](const Slab& slab, int64_t q0, int64_t q1) {
      return QueryBlock{query_rows(query, slab, q0, q1, accumulate) * tiling->scale,
                        query_rows(grad_context, slab, q0, q1, accumulate),
                        query_rows(log_sum_exp.unsqueeze(-1), slab, q0, q1, accumulate),
                        query_rows(row_dot, slab, q0, q1, accumulate)};
    };
    // A score_mod re-enters autograd, which stays on the calling thread.
    const bool parallel = rule.score_mod == nullptr;
    auto grad_query = torch::empty_like(query), grad_key = torch::empty_like(key);
    auto grad_value = torch::empty_like(value);

    // Pass 1, per query block: dQ = scale · dS K.
    for_each_block(query, rule.query_len, tiling->query_block, parallel, [&](const Slab& slab, int64_t q0, int64_t q1) {
      const auto rows = rows_of(slab, q0, q1);
      auto grad = torch::zeros_like(rows.queries);  // [b, h, G·bq, d]
      const auto [first_key, last_key] = rule.key_range(q0, q1);
      for (int64_t k0 = first_key; k0 < last_key; k0 += tiling->key_block) {
        const auto k1 = std::min(k0 + tiling->key_block, last_key);
        const auto keys = key_rows(key, slab, k0, k1, accumulate), values = key_rows(value, slab, k0, k1, accumulate);
        const auto tile = tile_gradients(*tiling, rows, keys, values, slab, q0, k0, /*accumulate_captured=*/false);
        grad.add_(torch::matmul(tile.score_gradient, keys));
      }
      store_query_rows(grad_query, slab, q0, grad.mul_(tiling->scale));
    });

    // Pass 2, per key block: dV = Pᵀ dO and dK = dSᵀ Q (scaled), summed over the G query heads.
    for_each_block(key, rule.key_len, tiling->key_block, parallel, [&](const Slab& slab, int64_t k0, int64_t k1) {
      const auto keys = key_rows(key, slab, k0, k1, accumulate), values = key_rows(value, slab, k0, k1, accumulate);
      auto grad_keys = torch::zeros_like(keys), grad_values = torch::zeros_like(values);
      const auto [first_query, last_query] = rule.query_range(k0, k1);
      for (int64_t q0 = first_query; q0 < last_query; q0 += tiling->query_block) {
        const auto q1 = std::min(q0 + tiling->query_block, last_query);
        const auto rows = rows_of(slab, q0, q1);
        const auto tile = tile_gradients(*tiling, rows, keys, values, slab, q0, k0, /*accumulate_captured=*/true);
        grad_values.add_(torch::matmul(tile.weights.transpose(-2, -1), rows.grad_context));
        grad_keys.add_(torch::matmul(tile.score_gradient.transpose(-2, -1), rows.queries));
      }
      slab.of(grad_key).slice(2, k0, k1).copy_(grad_keys);
      slab.of(grad_value).slice(2, k0, k1).copy_(grad_values);
    });
    return {grad_query, grad_key, grad_value, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor tiled_attention(const Plan& plan, int64_t query_block, int64_t key_block) {
  auto tiling = c10::make_intrusive<Tiling>();
  tiling->rule = plan.rule;
  tiling->scale = plan.scale;
  tiling->query_block = query_block;
  tiling->key_block = key_block;
  return plan.to_caller(TiledAttention::apply(plan.query, plan.key, plan.value, tiling));
}

}  // namespace attention::detail
