#pragma once
/// \file
/// Umbrella header of the attention library: `#include <attention/attention.h>`, namespace `attention`.
///
/// Tensors are batch-first `[B, T, E]`; every function and module also accepts unbatched `[T, E]` input and
/// then returns unbatched results. Bool masks are true where a query MAY attend (the opposite of
/// torch::nn::MultiheadAttention); see functional.h.

#include <attention/flex.h>
#include <attention/functional.h>
#include <attention/kv_cache.h>
#include <attention/multi_head_attention.h>
#include <attention/positions.h>
#include <attention/scaled_dot_product_attention.h>
#include <attention/simple_attention.h>
#include <attention/state_dict.h>
#include <attention/version.h>
