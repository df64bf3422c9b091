#pragma once
// Internal helpers shared by the functional API and the modules. Not installed.

#include <attention/functional.h>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/serialize/input-archive.h>

#include <string>

namespace attention::detail {

/// Throws unless `tensor` is defined and floating point; `what` names it in the message ("query").
void check_floating(const torch::Tensor& tensor, const char* where, const char* what);

/// Throws unless query, key and value are defined, floating, of one dtype and device, of equal rank >= 2 with
/// equal leading dimensions, query width == key width and key length == value length.
void check_attention_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                            const char* where);

/// Throws unless every input of a module is `[B, T, width]` or `[T, width]`, all of the same rank and batch.
/// `widths` are the expected last dimensions of query, key and value.
void check_module_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                         int64_t query_width, int64_t key_width, int64_t value_width, const char* where);

/// softmax(query kᵀ · scale + mask) value on validated inputs `[..., T, d]`.
AttentionOutput attend(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                       const AttentionOptions& options, const char* where);

/// Splits already projected q `[B, Tq, E]`, k, v `[B, Tk, E]` into heads, attends, merges and applies W_o.
/// Inputs without a batch dimension (`[T, E]`) give outputs without one.
AttentionOutput multi_head(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           int64_t num_heads, torch::nn::Linear& W_o, const AttentionOptions& options,
                           const char* where);

/// A user mask split into what blocks and what shifts: `allowed` (bool, true = may attend) and `additive` (the
/// finite part of a floating mask, in `dtype`). Either may be undefined.
struct SplitMask {
  torch::Tensor allowed;
  torch::Tensor additive;
};
SplitMask split_mask(const torch::Tensor& mask, torch::ScalarType dtype);

/// The tiled path's context `[..., Tq, dv]` (see AttentionPath::Tiled), differentiable in query, key and value.
/// `scaled_query` already carries the score scale; key j is visible to query i iff `allowed` says so and, when
/// `causal`, j <= i + causal_offset.
torch::Tensor tiled_attention(const torch::Tensor& scaled_query, const torch::Tensor& key, const torch::Tensor& value,
                              const torch::Tensor& allowed, const torch::Tensor& additive, bool causal,
                              int64_t causal_offset, int64_t query_block, int64_t key_block);

/// Throws unless 0 <= p < 1.
void check_dropout(double p, const char* where);

/// Module::load that first reads every tensor, refuses any whose shape differs from the module's (naming the
/// parameter path and both shapes), and only then copies, so a refused load leaves the module unchanged.
void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive);

}  // namespace attention::detail
