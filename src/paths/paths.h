#pragma once
// The three ways of computing attention from a Plan, and the rule that picks one. Internal; not installed.
// Each returns results in the caller's layout ([..., Tq, dv], weights [..., Tq, Tk]).

#include "plan.h"

namespace attention::detail {

/// The full [..., Tq, Tk] scores and weights; weights returned when options.need_weights(), dropout in training.
AttentionOutput materialized_attention(const Plan& plan, const AttentionOptions& options);

/// The context by tiles of query_block x key_block with an online softmax (AttentionPath::Tiled).
torch::Tensor tiled_attention(const Plan& plan, int64_t query_block, int64_t key_block);

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
