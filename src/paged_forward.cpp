// Self-attention of a ragged batch of new tokens against a PagedKVCache: the projections of every token as one
// matrix product, then per token its own sequence's rotary position, then the cache.
#include "multi_head_forward.h"

#include <attention/rms_norm.h>

#include "validation.h"

#include <torch/torch.h>

namespace attention::detail {

AttentionOutput paged_self_attention(const torch::Tensor& x, PagedKVCache& cache, const std::vector<int64_t>& ids,
                                     const std::vector<int64_t>& new_tokens,
                                     const MultiHeadAttentionForwardOptions& options, const char* where) {
  TORCH_CHECK(options.kv_cache() == nullptr, where, ": takes the paged cache, not a KVCache as well");
  TORCH_CHECK(x.defined() && x.dim() == 2, where, ": forward_paged takes the new tokens packed as [T_new, E], got ",
              x.defined() ? x.sizes() : torch::IntArrayRef{});
  check_multi_head_inputs(x, x, x, options, where);
  TORCH_CHECK(ids.size() == new_tokens.size(), where, ": one count of new tokens per id expected, got ", ids.size(),
              " ids and ", new_tokens.size(), " counts");
  const auto H = options.num_heads(), Hkv = options.num_kv_heads(), T = x.size(0);
  const auto qkv = project_together(x, options);
  auto q = qkv[0].view({T, H, -1}), k = qkv[1].view({T, Hkv, -1});  // [T, H, d], [T, Hkv, d]
  const auto v = qkv[2].view({T, Hkv, -1});                         // [T, Hkv, dv]
  if (options.q_norm_weight().defined()) {
    q = rms_norm(q, options.q_norm_weight(), options.qk_norm_eps());
  }
  if (options.k_norm_weight().defined()) {
    k = rms_norm(k, options.k_norm_weight(), options.qk_norm_eps());
  }
  if (options.rope()) {
    // Each token at its own sequence's next positions: cache.length(id), length + 1, ...
    std::vector<int64_t> positions;
    positions.reserve(static_cast<size_t>(T));
    for (size_t i = 0; i < ids.size(); ++i) {
      const auto first = cache.length(ids[i]);
      for (int64_t j = 0; j < new_tokens[i]; ++j) {
        positions.push_back(first + j);
      }
    }
    TORCH_CHECK(static_cast<int64_t>(positions.size()) == T, where, ": the new token counts add up to ",
                positions.size(), ", x has ", T, " rows");
    const auto at = torch::tensor(positions, torch::TensorOptions(torch::kLong)).to(x.device());
    q = rotate(q.transpose(0, 1), at, options).transpose(0, 1);  // rotated as [H, T, d]
    k = rotate(k.transpose(0, 1), at, options).transpose(0, 1);
  }
  cache.append(ids, new_tokens, k, v);
  const auto heads = cache.attend(q, ids, new_tokens, options.attention_options());  // [T, H, dv]
  return {attention::linear(heads.context.reshape({T, -1}), options.W_o_weight(), options.W_o_bias()), torch::Tensor(),
          heads.lse};
}

}  // namespace attention::detail
