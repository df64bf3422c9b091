#pragma once
// The multi-head core that MultiHeadAttention and SelfAttention share: head sizes, the input projections,
// splitting into heads, attending, merging and the output projection. Internal; not installed.

#include <attention/functional.h>

#include <torch/nn/modules/linear.h>

#include <array>
#include <cstdint>

namespace attention::detail {

/// H query heads and Hkv key/value heads of width d (letters as in functional.h).
struct HeadSizes {
  int64_t heads;
  int64_t kv_heads;
  int64_t head_dim;
};

/// The head sizes of a module of width `embed_dim`; throws, naming the values, unless all are positive,
/// num_heads divides embed_dim and num_kv_heads divides num_heads. The one place these rules are checked.
HeadSizes head_sizes(int64_t embed_dim, int64_t num_heads, int64_t num_kv_heads, const char* where);

/// torch::nn::Linear(in, out) with or without bias, LibTorch's default initialisation.
torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias);

/// The options the modules pass to the functional API, from their own settings and train/eval mode.
AttentionOptions module_attention_options(const torch::Tensor& mask, bool causal, CausalAlignment alignment,
                                          double dropout, bool training, bool need_weights);

/// The three input projections of x `[B, T, E]` as one matrix product: q `[B, T, H·d]`, k and v `[B, T, Hkv·d]`.
std::array<torch::Tensor, 3> project_self(const torch::Tensor& x, const torch::nn::Linear& W_q,
                                          const torch::nn::Linear& W_k, const torch::nn::Linear& W_v);

/// `[B, T, n·d]` → `[B, n, T, d]` (a view).
torch::Tensor split_heads(const torch::Tensor& x, int64_t heads);

/// Heads q `[B, H, Tq, d]`, k and v `[B, Hkv, Tk, d]` attended (grouped when Hkv < H), merged to
/// `[B, Tq, H·d]` and projected by W_o. Weights `[B, H, Tq, Tk]` when the options ask for them.
AttentionOutput attend_heads(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             torch::nn::Linear W_o, AttentionOptions options, const char* where);

/// Batched `[B, T, E]` inputs from batched or unbatched `[T, E]` ones, and the outputs back to the caller's form.
torch::Tensor with_batch(const torch::Tensor& x, bool unbatched);
AttentionOutput without_batch(AttentionOutput out, bool unbatched);

}  // namespace attention::detail
