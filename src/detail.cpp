#include "detail.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

namespace attention::detail {
namespace {

/// The most negative finite value of the dtype: blocked scores are set to it rather than -inf, so a fully
/// masked row stays finite through softmax and its backward (it is zeroed afterwards).
torch::Scalar lowest_finite(torch::ScalarType dtype) {
  torch::Scalar lowest;
  AT_DISPATCH_FLOATING_TYPES_AND2(torch::kHalf, torch::kBFloat16, dtype, "lowest_finite",
                                  [&] { lowest = std::numeric_limits<scalar_t>::lowest(); });
  return lowest;
}

/// Throws unless `mask` broadcasts to `scores_shape` and is bool or floating.
void check_mask(const torch::Tensor& mask, torch::IntArrayRef scores_shape, const char* where) {
  TORCH_CHECK(mask.scalar_type() == torch::kBool || mask.is_floating_point(), where,
              ": mask must be bool (true = may attend) or floating (added to the scores), got ", mask.scalar_type(),
              ". Note: torch::nn::MultiheadAttention uses true = blocked; convert its masks with logical_not()");
  bool broadcasts = mask.dim() <= static_cast<int64_t>(scores_shape.size());
  for (int64_t i = 1; broadcasts && i <= mask.dim(); ++i) {
    const auto size = mask.size(-i);
    broadcasts = size == 1 || size == scores_shape[scores_shape.size() - i];
  }
  TORCH_CHECK(broadcasts, where, ": mask of shape ", mask.sizes(), " does not broadcast to the scores ",
              scores_shape, " ([batch, heads, query length, key length])");
  if (mask.is_floating_point() && mask.numel() > 0) {
    const bool only_zeros_and_ones = ((mask == 0) | (mask == 1)).all().item<bool>();
    TORCH_CHECK(!(only_zeros_and_ones && (mask == 1).any().item<bool>()), where,
                ": the floating mask holds only 0s and 1s, which looks like a multiplicative mask. Floating masks are "
                "ADDED to the scores (use 0 to keep and -inf to block), or pass a bool mask (true = may attend)");
  }
}

/// softmax over the last dimension of `scores` `[..., Tq, Tk]` under the masks of `options`.
/// Rows with every key blocked give zeros.
torch::Tensor masked_softmax(torch::Tensor scores, const AttentionOptions& options) {
  const auto query_len = scores.size(-2), key_len = scores.size(-1);
  auto [allowed, additive] = split_mask(options.mask(), scores.scalar_type());
  if (additive.defined()) {
    scores = scores + additive;
  }
  if (options.causal()) {
    const auto causal = causal_mask(query_len, key_len, scores.device(), options.causal_alignment());
    allowed = allowed.defined() ? allowed.logical_and(causal) : causal;
  }
  if (!allowed.defined()) {
    return torch::softmax(scores, -1);
  }
  const auto weights = torch::softmax(scores.masked_fill(allowed.logical_not(), lowest_finite(scores.scalar_type())), -1);
  return weights.masked_fill(allowed.any(-1, /*keepdim=*/true).logical_not(), 0);
}

}  // namespace

SplitMask split_mask(const torch::Tensor& mask, torch::ScalarType dtype) {
  if (!mask.defined()) {
    return {};
  }
  if (mask.scalar_type() == torch::kBool) {
    return {mask, torch::Tensor()};
  }
  // Additive mask: its -inf entries block, its finite part shifts the scores.
  const auto additive = mask.to(dtype);
  const auto blocked = additive.isneginf();
  return {blocked.logical_not(), additive.masked_fill(blocked, 0)};
}

void check_floating(const torch::Tensor& tensor, const char* where, const char* what) {
  TORCH_CHECK(tensor.defined(), where, ": ", what, " is an undefined tensor");
  TORCH_CHECK(tensor.is_floating_point(), where, ": ", what, " must be floating point, got ", tensor.scalar_type(),
              " of shape ", tensor.sizes());
}

void check_attention_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                            const char* where) {
  check_floating(query, where, "query");
  check_floating(key, where, "key");
  check_floating(value, where, "value");
  TORCH_CHECK(query.scalar_type() == key.scalar_type() && key.scalar_type() == value.scalar_type(), where,
              ": query, key and value must share a dtype, got ", query.scalar_type(), ", ", key.scalar_type(), ", ",
              value.scalar_type());
  TORCH_CHECK(query.device() == key.device() && key.device() == value.device(), where,
              ": query, key and value must be on one device, got ", query.device(), ", ", key.device(), ", ",
              value.device());
  TORCH_CHECK(query.dim() >= 2 && query.dim() == key.dim() && key.dim() == value.dim(), where,
              ": query, key and value must have the same rank >= 2 ([..., T, d]), got query ", query.sizes(),
              ", key ", key.sizes(), ", value ", value.sizes());
  TORCH_CHECK(query.sizes().slice(0, query.dim() - 2) == key.sizes().slice(0, key.dim() - 2) &&
                  key.sizes().slice(0, key.dim() - 2) == value.sizes().slice(0, value.dim() - 2),
              where, ": query, key and value must have equal leading (batch) dimensions, got query ", query.sizes(),
              ", key ", key.sizes(), ", value ", value.sizes());
  TORCH_CHECK(query.size(-1) == key.size(-1), where, ": query width (", query.size(-1), ") must equal key width (",
              key.size(-1), "), got query ", query.sizes(), ", key ", key.sizes());
  TORCH_CHECK(key.size(-2) == value.size(-2), where, ": key and value must have the same length, got key ",
              key.sizes(), ", value ", value.sizes());
}

void check_module_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                         int64_t query_width, int64_t key_width, int64_t value_width, const char* where) {
  check_floating(query, where, "query");
  check_floating(key, where, "key");
  check_floating(value, where, "value");
  TORCH_CHECK((query.dim() == 2 || query.dim() == 3) && query.dim() == key.dim() && key.dim() == value.dim(), where,
              ": query, key and value must all be batched [B, T, D] or all unbatched [T, D], got query ",
              query.sizes(), ", key ", key.sizes(), ", value ", value.sizes());
  TORCH_CHECK(query.dim() == 2 || (query.size(0) == key.size(0) && key.size(0) == value.size(0)), where,
              ": query, key and value must have the same batch size, got query ", query.sizes(), ", key ",
              key.sizes(), ", value ", value.sizes());
  TORCH_CHECK(query.size(-1) == query_width, where, ": query width must be ", query_width, ", got query ",
              query.sizes());
  TORCH_CHECK(key.size(-1) == key_width, where, ": key width must be ", key_width, ", got key ", key.sizes());
  TORCH_CHECK(value.size(-1) == value_width, where, ": value width must be ", value_width, ", got value ",
              value.sizes());
  TORCH_CHECK(key.size(-2) == value.size(-2), where, ": key and value must have the same length, got key ",
              key.sizes(), ", value ", value.sizes());
}

void check_dropout(double p, const char* where) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, where, ": dropout must be in [0, 1), got ", p);
}

AttentionOutput attend(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                       const AttentionOptions& options, const char* where) {
  const auto width = query.size(-1);
  const auto key_len = key.size(-2);
  if (options.mask().defined()) {
    auto scores_shape = query.sizes().vec();
    scores_shape.back() = key_len;
    check_mask(options.mask(), scores_shape, where);
  }
  TORCH_CHECK(options.block_size() >= 0, where, ": block_size must be >= 0 (0 = default), got ", options.block_size());
  const double scale = options.scale() > 0 ? options.scale() : 1.0 / std::sqrt(static_cast<double>(width));
  // Scaling the queries (Tq x d) is cheaper than scaling the scores (Tq x Tk).
  const auto scaled_query = scale == 1.0 ? query : query * scale;
  if (chosen_path(query.size(-2), key_len, options) == AttentionPath::Tiled) {
    const auto [allowed, additive] = split_mask(options.mask(), query.scalar_type());
    const auto causal_offset =
        options.causal_alignment() == CausalAlignment::TopLeft ? 0 : key_len - query.size(-2);
    const auto block = options.block_size();
    return {tiled_attention(scaled_query, key, value, allowed, additive, options.causal(), causal_offset,
                            block > 0 ? block : kDefaultQueryBlock, block > 0 ? block : kDefaultKeyBlock),
            torch::Tensor()};
  }
  const auto scores = torch::matmul(scaled_query, key.transpose(-2, -1));  // [..., Tq, Tk]
  const auto weights = masked_softmax(scores, options);                     // [..., Tq, Tk]
  const bool dropping = options.training() && options.dropout() > 0;
  const auto context = torch::matmul(dropping ? torch::dropout(weights, options.dropout(), true) : weights,
                                     value);  // [..., Tq, dv]
  return {context, options.need_weights() ? weights : torch::Tensor()};
}

AttentionOutput multi_head(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           int64_t num_heads, torch::nn::Linear& W_o, const AttentionOptions& options,
                           const char* where) {
  const bool unbatched = q.dim() == 2;
  const auto split_heads = [&](const torch::Tensor& x) {  // [B, T, E] or [T, E] → [B, H, T, E/H]
    const auto batched = unbatched ? x.unsqueeze(0) : x;
    const auto B = batched.size(0), T = batched.size(1), E = batched.size(2);
    return batched.view({B, T, num_heads, E / num_heads}).transpose(1, 2);
  };
  auto heads = attend(split_heads(q), split_heads(k), split_heads(v), options, where);
  const auto B = heads.context.size(0), Tq = heads.context.size(2);
  auto merged = heads.context.transpose(1, 2).reshape({B, Tq, -1});  // [B, Tq, E]
  auto context = W_o(merged);
  if (unbatched) {
    return {context.squeeze(0), heads.weights.defined() ? heads.weights.squeeze(0) : heads.weights};
  }
  return {context, heads.weights};
}

void load_checked(torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  struct Pending {
    torch::Tensor target;
    torch::Tensor loaded;
  };
  std::vector<Pending> pending;
  // Reads everything first, so a refused load changes nothing.
  std::function<void(torch::nn::Module&, torch::serialize::InputArchive&, const std::string&)> read_all =
      [&](torch::nn::Module& node, torch::serialize::InputArchive& node_archive, const std::string& prefix) {
        const auto read = [&](const std::string& name, const torch::Tensor& target, bool is_buffer) {
          torch::Tensor loaded;
          node_archive.read(name, loaded, is_buffer);
          TORCH_CHECK(loaded.sizes() == target.sizes(), "cannot load ", module.name(), ": '", prefix + name,
                      "' has shape ", target.sizes(), " in this module but ", loaded.sizes(),
                      " in the file (was it saved from a module of other sizes?)");
          pending.push_back({target, loaded});
        };
        for (const auto& parameter : node.named_parameters(/*recurse=*/false)) {
          read(parameter.key(), parameter.value(), false);
        }
        for (const auto& buffer : node.named_buffers(/*recurse=*/false)) {
          read(buffer.key(), buffer.value(), true);
        }
        for (const auto& child : node.named_children()) {
          torch::serialize::InputArchive child_archive;
          node_archive.read(child.key(), child_archive);
          read_all(*child.value(), child_archive, prefix + child.key() + ".");
        }
      };
  read_all(module, archive, "");
  torch::NoGradGuard no_grad;
  for (auto& [target, loaded] : pending) {
    target.copy_(loaded);
  }
}

}  // namespace attention::detail
