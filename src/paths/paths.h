#pragma once
// The three ways of computing attention from a Plan, and the rule that picks one. Internal; not installed.
// Each returns results in the caller's layout ([..., Tq, dv], weights [..., Tq, Tk]).

#include "plan.h"

namespace attention::detail {

/// The full [..., Tq, Tk] scores and weights; weights returned when options.need_weights(), dropout in training,
/// the log-sum-exp [..., Tq] when `with_lse`.
AttentionOutput materialized_attention(const Plan& plan, const AttentionOptions& options, bool with_lse);

/// The context [B, Hkv, G, Tq, dv] and log-sum-exp [B, Hkv, G, Tq] (accumulator dtype, -inf for a row with nothing
/// to attend) of canonical tensors, by tiles of query_block x key_block with an online softmax
/// (AttentionPath::Tiled), over each segment's rows; under a block mask its blocks are the tiles.
struct TiledResult {
  torch::Tensor context;
  torch::Tensor lse;
};
TiledResult tiled_attention(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                            double scale, std::vector<Segment> segments, int64_t query_block, int64_t key_block,
                            const BlockMask& block_mask = {});

/// The products of attention for query rows [..., R, d] against keys [..., n, d] (→ scores [..., R, n]) and of
/// weights [..., R, n] against values [..., n, dv] (→ [..., R, dv]): matmul, or with `elementwise` an elementwise
/// product and a sum, which makes a temporary the size of the keys (values). For a single row of float32 or float64
/// on the CPU (one_row_elementwise(), decoding): LibTorch 1.13's CPU bmm makes one BLAS call per head, and a BLAS
/// product of one row costs several times the reading of its keys (measured: 130 against 80 µs for 12 heads of 576
/// keys).
torch::Tensor query_key_products(const torch::Tensor& queries, const torch::Tensor& keys, bool elementwise);
torch::Tensor weighted_values(const torch::Tensor& weights, const torch::Tensor& values, bool elementwise);

/// Whether the products of `rows` [..., R, x] may be elementwise: a single row on the CPU, in float32 or float64 (a
/// product of reduced floats would round each term before the sum accumulates it).
bool one_row_elementwise(const torch::Tensor& rows);

/// float32 accumulators for float16/bfloat16 inputs; the input's own dtype otherwise.
torch::ScalarType accumulator_type(torch::ScalarType dtype);

/// Attention sinks applied to a result computed without them: context and weights scaled by
/// sigmoid(lse - sink) per row (Σ_j exp(x_ij) / (Σ_j exp(x_ij) + exp(sink))). `sinks` is shaped to broadcast
/// against `lse` (the sink of each row's head); `lse` must be defined.
void apply_sinks(AttentionOutput& out, const torch::Tensor& sinks);

/// Whether LibTorch's fused kernel computes this plan exactly and without building large tensors it would not
/// otherwise need (always false before LibTorch 2.1).
bool fused_expresses(const Plan& plan, const AttentionOptions& options);

/// The context from at::scaled_dot_product_attention (AttentionPath::Fused); requires fused_expresses().
torch::Tensor fused_attention(const Plan& plan, const AttentionOptions& options);

/// Validates the options against checked inputs, plans, chooses the path and runs it. `where` names the caller in
/// error messages ("MultiHeadAttention").
AttentionOutput attend(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                       const AttentionOptions& options, const char* where);

/// The path that runs for this plan: options.path() after its fallbacks, or the measured rule for Auto.
/// Throws when Tiled or Fused is forced together with need_weights, or Tiled with active dropout.
AttentionPath choose_path(const Plan& plan, const AttentionOptions& options);

}  // namespace attention::detail
