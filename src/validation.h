#pragma once
// Checks of the inputs of the functional API and the modules, with messages that name the shapes and the fix.
// Internal; not installed. Every check throws c10::Error.

#include <attention/functional.h>

#include <cstdint>

namespace attention::detail {

/// Throws unless `tensor` is defined and floating point; `what` names it in the message ("query").
void check_floating(const torch::Tensor& tensor, const char* where, const char* what);

/// Throws unless query, key and value are defined, floating, of one dtype and device, of equal rank >= 2 with
/// equal leading dimensions (keys and values may have fewer heads, a divisor, with `enable_gqa`), query width ==
/// key width and key length == value length.
void check_attention_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                            bool enable_gqa, const char* where);

/// Throws unless the options suit these (checked) inputs: a mask that broadcasts to the scores and is bool or
/// a floating additive mask (not 0/1: checked on the CPU only, where it costs one reduction; skipped on other
/// devices, where it would wait for the device), ALiBi slopes [H], window >= 0, block_size >= 0, dropout in [0, 1).
void check_attention_options(const torch::Tensor& query, const torch::Tensor& key, const AttentionOptions& options,
                             const char* where);

/// Throws unless varlen_attention() can compute these: query [Tq_total, H, d], key [Tk_total, Hkv, d], value
/// [Tk_total, Hkv, dv] of one floating dtype and device, Hkv dividing H; each cu_seqlens int32/int64 [N + 1] on the
/// CPU or the query's device, from 0, non-decreasing, to its total; no dense or block mask, no active dropout, no
/// forced materialised path; ALiBi slopes and sinks [H].
void check_varlen_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                         const torch::Tensor& cu_seqlens_q, const torch::Tensor& cu_seqlens_k,
                         const AttentionOptions& options, const char* where);

/// Throws unless every input of a module is `[B, T, width]` or `[T, width]`, all of the same rank and batch.
/// `widths` are the expected last dimensions of query, key and value.
void check_module_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                         int64_t query_width, int64_t key_width, int64_t value_width, const char* where);

/// Throws unless multi_head_attention_forward() can compute these inputs with these options: the weights defined
/// matrices, the inputs as check_module_inputs() for the weights' input widths, weights and biases of the query's
/// dtype and device, H and Hkv > 0 with Hkv dividing H, W_q `[H·d, E]`, W_k `[Hkv·d, kdim]`, W_v `[Hkv·dv, vdim]`,
/// W_o `[E, H·dv]`, each bias `[rows of its weight]` or undefined, and with rope an even d and a base > 0.
void check_multi_head_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                             const MultiHeadAttentionForwardOptions& options, const char* where);

/// Throws unless 0 <= p < 1.
void check_dropout(double p, const char* where);

/// Throws unless value > 0; `name` names it.
void check_positive(int64_t value, const char* where, const char* name);

}  // namespace attention::detail
