#pragma once
// multi_head_attention_forward() for the modules, whose errors name the module. Internal; not installed.

#include <attention/functional.h>

namespace attention::detail {

/// attention::multi_head_attention_forward(), with `where` naming the caller in error messages ("SelfAttention").
AttentionOutput multi_head_forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                                   const MultiHeadAttentionForwardOptions& options, const char* where);

}  // namespace attention::detail
