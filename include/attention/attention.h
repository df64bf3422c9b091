#pragma once
/// \file
/// Umbrella header of the attention library: `#include <attention/attention.h>`, namespace `attention`.
///
/// Tensors are batch-first `[B, T, D]`; every function and module also accepts unbatched `[T, D]` input and
/// then returns unbatched results. Bool masks are true where a query MAY attend (the opposite of
/// torch::nn::MultiheadAttention); see functional.h.

#include <attention/functional.h>
#include <attention/multi_head_attention.h>
#include <attention/scaled_dot_product_attention.h>
#include <attention/simple_attention.h>
#include <attention/state_dict.h>
#include <attention/version.h>
