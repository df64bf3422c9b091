// The memory-efficient (tiled) attention path: tiles of queries x keys, an online softmax with a running
// maximum and sum (Rabe & Staats 2021, FlashAttention), and a backward pass that recomputes each tile from the
// saved log-sum-exp, so neither direction ever holds a [Tq, Tk] matrix.
#include "detail.h"

#include <torch/torch.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace attention::detail {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The part of a broadcastable mask `[..., Tq or 1, Tk or 1]` that covers rows [q0, q1) and columns [k0, k1).
torch::Tensor tile_of(const torch::Tensor& mask, int64_t q0, int64_t q1, int64_t k0, int64_t k1) {
  auto tile = mask;
  if (tile.dim() >= 2 && tile.size(-2) != 1) {
    tile = tile.slice(-2, q0, q1);
  }
  if (tile.dim() >= 1 && tile.size(-1) != 1) {
    tile = tile.slice(-1, k0, k1);
  }
  return tile;
}

/// Geometry and masks shared by the forward and backward passes.
struct Tiling {
  int64_t query_block;
  int64_t key_block;
  bool causal;
  int64_t causal_offset;  // key j is visible to query i iff j <= i + causal_offset
  torch::Tensor allowed;  // bool, true = may attend, broadcastable to the scores; or undefined
  torch::Tensor additive; // finite floating mask added to the scores; or undefined

  /// The end of the keys that any of the queries [q0, q1) may see.
  int64_t key_end(int64_t q1, int64_t key_len) const {
    return causal ? std::clamp<int64_t>(q1 + causal_offset, 0, key_len) : key_len;
  }

  /// Scores of one tile, with the masks applied (-inf where blocked). `scores` is modified in place.
  torch::Tensor& mask_tile(torch::Tensor& scores, int64_t q0, int64_t q1, int64_t k0, int64_t k1) const {
    if (additive.defined()) {
      scores.add_(tile_of(additive, q0, q1, k0, k1));
    }
    torch::Tensor tile_allowed;
    if (allowed.defined()) {
      tile_allowed = tile_of(allowed, q0, q1, k0, k1);
    }
    if (causal && k1 - 1 > q0 + causal_offset) {  // the tile crosses the diagonal
      const auto options = torch::TensorOptions(torch::kLong).device(scores.device());
      const auto rows = torch::arange(q0, q1, options).unsqueeze(1);
      const auto cols = torch::arange(k0, k1, options).unsqueeze(0);
      const auto visible = cols <= rows + causal_offset;
      tile_allowed = tile_allowed.defined() ? tile_allowed.logical_and(visible) : visible;
    }
    if (tile_allowed.defined()) {
      scores.masked_fill_(tile_allowed.logical_not(), -std::numeric_limits<double>::infinity());
    }
    return scores;
  }
};

/// Runs LibTorch's element-wise operations on the calling thread for the guard's lifetime (OpenMP's thread count
/// is per calling thread). A tile is many small operations: OpenMP workers spinning between them starve the BLAS
/// threads of the matrix products — measured 30x slower with 2 threads on 2 cores. The products themselves
/// still use all of the BLAS library's threads.
class ElementwiseOnCallingThread {
 public:
  ElementwiseOnCallingThread() : previous_(torch::get_num_threads()) { torch::set_num_threads(1); }
  ~ElementwiseOnCallingThread() { torch::set_num_threads(previous_); }
  ElementwiseOnCallingThread(const ElementwiseOnCallingThread&) = delete;
  ElementwiseOnCallingThread& operator=(const ElementwiseOnCallingThread&) = delete;

 private:
  int previous_;
};

/// -inf (a row with nothing visible yet) shifts by 0 instead, so exp(-inf - shift) stays 0, not NaN.
torch::Tensor finite_or_zero(const torch::Tensor& row_max) {
  return row_max.masked_fill(row_max.isneginf(), 0);
}

class TiledAttention : public torch::autograd::Function<TiledAttention> {
 public:
  /// query (already scaled) [..., Tq, d], key [..., Tk, d], value [..., Tk, dv] → context [..., Tq, dv].
  /// The masks travel inside `tiling` (not as tensor arguments): they are constants, never differentiated.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& query, const torch::Tensor& key,
                               const torch::Tensor& value, const Tiling& tiling) {
    const ElementwiseOnCallingThread single_threaded;
    const auto query_len = query.size(-2), key_len = key.size(-2);
    auto context_shape = value.sizes().vec();
    context_shape[context_shape.size() - 2] = query_len;
    auto context = torch::zeros(context_shape, value.options());  // [..., Tq, dv]
    auto row_shape = query.sizes().vec();
    row_shape.pop_back();
    // log(sum(exp(scores))) per query; +inf for a row with nothing to attend, so its weights recompute as 0.
    auto log_sum_exp = torch::full(row_shape, std::numeric_limits<double>::infinity(), query.options());  // [..., Tq]
    for (int64_t q0 = 0; q0 < query_len; q0 += tiling.query_block) {
      const auto q1 = std::min(q0 + tiling.query_block, query_len);
      const auto query_tile = query.slice(-2, q0, q1);  // [..., bq, d]
      auto tile_row_shape = row_shape;
      tile_row_shape.back() = q1 - q0;
      auto running_max = torch::full(tile_row_shape, -std::numeric_limits<double>::infinity(), query.options());
      auto running_sum = torch::zeros(tile_row_shape, query.options());
      auto accumulated = context.slice(-2, q0, q1);  // [..., bq, dv], a view: written in place
      const auto key_end = tiling.key_end(q1, key_len);
      for (int64_t k0 = 0; k0 < key_end; k0 += tiling.key_block) {
        const auto k1 = std::min(k0 + tiling.key_block, key_len);
        auto scores = torch::matmul(query_tile, key.slice(-2, k0, k1).transpose(-2, -1));  // [..., bq, bk]
        tiling.mask_tile(scores, q0, q1, k0, k1);
        const auto new_max = torch::maximum(running_max, scores.amax(-1));
        const auto shift = finite_or_zero(new_max);
        const auto rescale = (running_max - shift).exp_();          // [..., bq]; 0 while nothing was visible
        auto weights = scores.sub_(shift.unsqueeze(-1)).exp_();     // [..., bq, bk], unnormalised
        running_sum.mul_(rescale).add_(weights.sum(-1));
        accumulated.mul_(rescale.unsqueeze(-1)).add_(torch::matmul(weights, value.slice(-2, k0, k1)));
        running_max = new_max;
      }
      const auto visible = running_sum > 0;
      accumulated.div_(torch::where(visible, running_sum, torch::ones_like(running_sum)).unsqueeze(-1));
      log_sum_exp.slice(-1, q0, q1).copy_(
          torch::where(visible, finite_or_zero(running_max) + running_sum.log(), log_sum_exp.slice(-1, q0, q1)));
    }
    ctx->save_for_backward({query, key, value, context, log_sum_exp});
    for (const auto& [name, mask] : {std::pair{"allowed", tiling.allowed}, std::pair{"additive", tiling.additive}}) {
      if (mask.defined()) {
        ctx->saved_data[name] = mask;
      }
    }
    ctx->saved_data["causal"] = tiling.causal;
    ctx->saved_data["causal_offset"] = tiling.causal_offset;
    ctx->saved_data["query_block"] = tiling.query_block;
    ctx->saved_data["key_block"] = tiling.key_block;
    return context;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const ElementwiseOnCallingThread single_threaded;
    const auto saved = ctx->get_saved_variables();
    const auto &query = saved[0], &key = saved[1], &value = saved[2], &context = saved[3], &log_sum_exp = saved[4];
    const auto saved_mask = [&](const char* name) {
      return ctx->saved_data.count(name) ? ctx->saved_data[name].toTensor() : torch::Tensor();
    };
    const Tiling tiling{ctx->saved_data["query_block"].toInt(), ctx->saved_data["key_block"].toInt(),
                        ctx->saved_data["causal"].toBool(), ctx->saved_data["causal_offset"].toInt(),
                        saved_mask("allowed"), saved_mask("additive")};
    const auto grad_context = grad_outputs[0].contiguous();  // [..., Tq, dv]
    const auto query_len = query.size(-2), key_len = key.size(-2);
    // d(loss)/d(score_ij) = w_ij * (dO_i . v_j - dO_i . O_i): the second term per row, once.
    const auto row_dot = (grad_context * context).sum(-1);  // [..., Tq]
    auto grad_query = torch::zeros_like(query), grad_key = torch::zeros_like(key);
    auto grad_value = torch::zeros_like(value);
    for (int64_t q0 = 0; q0 < query_len; q0 += tiling.query_block) {
      const auto q1 = std::min(q0 + tiling.query_block, query_len);
      const auto query_tile = query.slice(-2, q0, q1);
      const auto grad_tile = grad_context.slice(-2, q0, q1);
      const auto lse_tile = log_sum_exp.slice(-1, q0, q1).unsqueeze(-1);
      const auto dot_tile = row_dot.slice(-1, q0, q1).unsqueeze(-1);
      auto grad_query_tile = grad_query.slice(-2, q0, q1);
      const auto key_end = tiling.key_end(q1, key_len);
      for (int64_t k0 = 0; k0 < key_end; k0 += tiling.key_block) {
        const auto k1 = std::min(k0 + tiling.key_block, key_len);
        const auto key_tile = key.slice(-2, k0, k1), value_tile = value.slice(-2, k0, k1);
        auto scores = torch::matmul(query_tile, key_tile.transpose(-2, -1));
        tiling.mask_tile(scores, q0, q1, k0, k1);
        const auto weights = scores.sub_(lse_tile).exp_();  // [..., bq, bk], normalised
        grad_value.slice(-2, k0, k1).add_(torch::matmul(weights.transpose(-2, -1), grad_tile));
        const auto grad_scores = torch::matmul(grad_tile, value_tile.transpose(-2, -1)).sub_(dot_tile).mul_(weights);
        grad_query_tile.add_(torch::matmul(grad_scores, key_tile));
        grad_key.slice(-2, k0, k1).add_(torch::matmul(grad_scores.transpose(-2, -1), query_tile));
      }
    }
    return {grad_query, grad_key, grad_value, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor tiled_attention(const torch::Tensor& scaled_query, const torch::Tensor& key, const torch::Tensor& value,
                              const torch::Tensor& allowed, const torch::Tensor& additive, bool causal,
                              int64_t causal_offset, int64_t query_block, int64_t key_block) {
  return TiledAttention::apply(scaled_query, key, value,
                               Tiling{query_block, key_block, causal, causal_offset, allowed, additive});
}

}  // namespace attention::detail
