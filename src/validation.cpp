#include "validation.h"

#include <torch/torch.h>

#include <array>

namespace attention::detail {
namespace {

/// Throws unless `mask` broadcasts to `scores_shape` and is bool or an additive floating mask (on the CPU, not one
/// of only 0s and 1s).
void check_mask(const torch::Tensor& mask, torch::IntArrayRef scores_shape, const char* where) {
  TORCH_CHECK(mask.scalar_type() == torch::kBool || mask.is_floating_point(), where,
              ": mask must be bool (true = may attend) or floating (added to the scores), got ", mask.scalar_type(),
              ". Note: torch::nn::MultiheadAttention uses true = blocked; convert its masks with logical_not()");
  bool broadcasts = mask.dim() <= static_cast<int64_t>(scores_shape.size());
  for (int64_t i = 1; broadcasts && i <= mask.dim(); ++i) {
    const auto size = mask.size(-i);
    broadcasts = size == 1 || size == scores_shape[scores_shape.size() - i];
  }
  TORCH_CHECK(broadcasts, where, ": mask of shape ", mask.sizes(), " does not broadcast to the scores ", scores_shape,
              " ([batch, heads, query length, key length])");
  // Only on the CPU: elsewhere reading the result back (.item()) would wait for the device on every call.
  if (mask.is_floating_point() && mask.numel() > 0 && mask.device().is_cpu()) {
    const bool only_zeros_and_ones = ((mask == 0) | (mask == 1)).all().item<bool>();
    TORCH_CHECK(!(only_zeros_and_ones && (mask == 1).any().item<bool>()), where,
                ": the floating mask holds only 0s and 1s, which looks like a multiplicative mask. Floating masks are "
                "ADDED to the scores (use 0 to keep and -inf to block), or pass a bool mask (true = may attend)");
  }
}

/// Throws unless `values` is a floating tensor [heads], one `item` per query head.
void check_one_per_head(const torch::Tensor& values, int64_t heads, const torch::Tensor& query, const char* where,
                        const char* name, const char* item, const char* hint) {
  TORCH_CHECK(values.is_floating_point() && values.dim() == 1 && values.size(0) == heads, where, ": ", name,
              " must be a floating tensor [H] with one ", item, " per query head (H = ", heads,
              " for a query of shape ", query.sizes(), "), got ", values.scalar_type(), " of shape ", values.sizes(),
              hint);
}

/// Throws unless the ALiBi slopes and the sinks are [H] floating tensors, the sinks on the query's device.
void check_per_head_options(const AttentionOptions& options, int64_t heads, const torch::Tensor& query,
                            const char* where) {
  if (const auto& slopes = options.alibi_slopes(); slopes.defined()) {
    check_one_per_head(slopes, heads, query, where, "alibi_slopes", "slope", "; attention::alibi_slopes(H) makes them");
  }
  if (const auto& sinks = options.sinks(); sinks.defined()) {
    check_one_per_head(sinks, heads, query, where, "sinks", "logit", "");
    TORCH_CHECK(sinks.device() == query.device(), where, ": sinks are on ", sinks.device(), ", the query on ",
                query.device());
  }
}

/// Throws unless query, key and value are defined, floating, of one dtype and on one device.
void check_one_kind(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
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
}

/// Throws unless block_size and window are >= 0.
void check_tiles_and_window(const AttentionOptions& options, const char* where) {
  TORCH_CHECK(options.block_size() >= 0, where, ": block_size must be >= 0 (0 = default), got ", options.block_size());
  TORCH_CHECK(!options.window() || *options.window() >= 0, where, ": window must be >= 0, got ", *options.window());
}

}  // namespace

void check_floating(const torch::Tensor& tensor, const char* where, const char* what) {
  TORCH_CHECK(tensor.defined(), where, ": ", what, " is an undefined tensor");
  TORCH_CHECK(tensor.is_floating_point(), where, ": ", what, " must be floating point, got ", tensor.scalar_type(),
              " of shape ", tensor.sizes());
}

void check_attention_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                            bool enable_gqa, const char* where) {
  check_one_kind(query, key, value, where);
  TORCH_CHECK(query.dim() >= 2 && query.dim() == key.dim() && key.dim() == value.dim(), where,
              ": query, key and value must have the same rank >= 2 ([..., T, d]), got query ", query.sizes(), ", key ",
              key.sizes(), ", value ", value.sizes());
  const auto leading = [](const torch::Tensor& x) { return x.sizes().slice(0, x.dim() - 2); };
  if (enable_gqa) {
    TORCH_CHECK(query.dim() >= 3, where, ": enable_gqa needs heads at dimension -3 ([..., H, T, d]), got query ",
                query.sizes());
    const auto heads = query.size(-3), kv_heads = key.size(-3);
    TORCH_CHECK(leading(key) == leading(value) &&
                    query.sizes().slice(0, query.dim() - 3) == key.sizes().slice(0, key.dim() - 3) && kv_heads > 0 &&
                    heads % kv_heads == 0,
                where,
                ": with enable_gqa, keys and values need the query's leading dimensions but for a number of "
                "heads (dimension -3) that divides the query's, got query ",
                query.sizes(), ", key ", key.sizes(), ", value ", value.sizes());
  } else {
    TORCH_CHECK(
        leading(query) == leading(key) && leading(key) == leading(value), where,
        ": query, key and value must have equal leading (batch, head) dimensions, got query ", query.sizes(), ", key ",
        key.sizes(), ", value ", value.sizes(),
        query.dim() >= 3 && query.size(-3) != key.size(-3) ? " (fewer key/value heads need enable_gqa(true))" : "");
  }
  TORCH_CHECK(query.size(-1) == key.size(-1), where, ": query width (", query.size(-1), ") must equal key width (",
              key.size(-1), "), got query ", query.sizes(), ", key ", key.sizes());
  TORCH_CHECK(key.size(-2) == value.size(-2), where, ": key and value must have the same length, got key ", key.sizes(),
              ", value ", value.sizes());
}

void check_attention_options(const torch::Tensor& query, const torch::Tensor& key, const AttentionOptions& options,
                             const char* where) {
  check_dropout(options.dropout(), where);
  check_tiles_and_window(options, where);
  if (options.mask().defined()) {
    auto scores_shape = query.sizes().vec();
    scores_shape.back() = key.size(-2);
    check_mask(options.mask(), scores_shape, where);
  }
  const bool has_heads = query.dim() >= 4 || (query.dim() == 3 && options.enable_gqa());
  const int64_t heads = has_heads ? query.size(-3) : 1;
  check_per_head_options(options, heads, query, where);
  if (const auto& block_mask = options.block_mask(); block_mask.defined()) {
    TORCH_CHECK(!options.mask_mod(), where,
                ": set mask_mod or block_mask, not both (a block mask carries the mask_mod it was made from)");
    const auto query_len = query.size(-2), key_len = key.size(-2);
    int64_t batch = 1;
    for (int64_t i = 0; i < query.dim() - (has_heads ? 3 : 2); ++i) {
      batch *= query.size(i);
    }
    const auto& blocks = block_mask.blocks();
    TORCH_CHECK(block_mask.query_len() == query_len && block_mask.key_len() == key_len &&
                    (blocks.size(0) == 1 || blocks.size(0) == batch) &&
                    (blocks.size(1) == 1 || blocks.size(1) == heads),
                where, ": the block mask was made for B=", blocks.size(0), ", H=", blocks.size(1),
                ", Tq=", block_mask.query_len(), ", Tk=", block_mask.key_len(), "; the inputs have B=", batch,
                ", H=", heads, ", Tq=", query_len, ", Tk=", key_len, " (B and H of the mask may also be 1)");
    TORCH_CHECK(query_len == key_len || options.causal_alignment() == CausalAlignment::TopLeft, where,
                ": a block mask has top-left positions; with Tq != Tk it needs causal_alignment TopLeft");
    TORCH_CHECK(options.block_size() == 0 || options.block_size() == block_mask.block_size(), where, ": block_size ",
                options.block_size(), " differs from the block mask's ", block_mask.block_size(),
                " (leave it 0: the block mask sets the tiles)");
  }
}

namespace {

/// Throws unless `cu_seqlens` is int32/int64 [N + 1] on the CPU or `device`, starting at 0, non-decreasing, ending
/// at `total`. `name` names it.
void check_cu_seqlens(const torch::Tensor& cu_seqlens, int64_t total, const torch::Device& device, const char* where,
                      const char* name) {
  TORCH_CHECK(cu_seqlens.defined() && cu_seqlens.dim() == 1 && cu_seqlens.size(0) >= 1, where, ": ", name,
              " must be a 1-d tensor [N + 1] of cumulative sequence lengths, got ",
              cu_seqlens.defined() ? cu_seqlens.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(cu_seqlens.scalar_type() == torch::kInt || cu_seqlens.scalar_type() == torch::kLong, where, ": ", name,
              " must be int32 or int64, got ", cu_seqlens.scalar_type());
  TORCH_CHECK(cu_seqlens.is_cpu() || cu_seqlens.device() == device, where, ": ", name, " must be on the CPU or on ",
              device, " (the query's device), got ", cu_seqlens.device());
  const auto offsets = cu_seqlens.to(torch::kCPU, torch::kLong);
  const auto* data = offsets.data_ptr<int64_t>();
  const auto count = offsets.size(0);
  TORCH_CHECK(data[0] == 0, where, ": ", name, " must start at 0, got ", data[0]);
  for (int64_t i = 1; i < count; ++i) {
    TORCH_CHECK(data[i] >= data[i - 1], where, ": ", name, " must be non-decreasing, got ", data[i - 1], " then ",
                data[i], " at ", i - 1, " and ", i);
  }
  TORCH_CHECK(data[count - 1] == total, where, ": ", name, " must end at the number of rows, ", total, ", got ",
              data[count - 1]);
}

}  // namespace

void check_varlen_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                         const torch::Tensor& cu_seqlens_q, const torch::Tensor& cu_seqlens_k,
                         const AttentionOptions& options, const char* where) {
  check_one_kind(query, key, value, where);
  TORCH_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3, where,
              ": query [Tq_total, H, d], key [Tk_total, Hkv, d] and value [Tk_total, Hkv, dv] expected, got query ",
              query.sizes(), ", key ", key.sizes(), ", value ", value.sizes());
  const auto heads = query.size(1), kv_heads = key.size(1);
  TORCH_CHECK(key.size(0) == value.size(0) && kv_heads == value.size(1) && kv_heads > 0 && heads % kv_heads == 0 &&
                  query.size(2) == key.size(2),
              where,
              ": keys and values need equal rows and heads, a number of heads that divides the query's, and keys "
              "the query's width; got query ",
              query.sizes(), ", key ", key.sizes(), ", value ", value.sizes());
  check_cu_seqlens(cu_seqlens_q, query.size(0), query.device(), where, "cu_seqlens_q");
  check_cu_seqlens(cu_seqlens_k, key.size(0), query.device(), where, "cu_seqlens_k");
  TORCH_CHECK(cu_seqlens_q.size(0) == cu_seqlens_k.size(0), where,
              ": cu_seqlens_q and cu_seqlens_k must describe the same number of sequences, got ", cu_seqlens_q.size(0),
              " and ", cu_seqlens_k.size(0), " offsets");
  TORCH_CHECK(!options.mask().defined(), where,
              ": a dense mask does not exist for packed sequences; use mask_mod (positions within each sequence)");
  TORCH_CHECK(!options.block_mask().defined(), where,
              ": block masks describe one dense [B, H, Tq, Tk] matrix; use mask_mod with varlen_attention");
  TORCH_CHECK(!(options.training() && options.dropout() > 0), where,
              ": dropout is not supported (the tiled path never forms the weights)");
  TORCH_CHECK(options.path() != AttentionPath::Materialized, where,
              ": runs the tiled path only (it never forms the weights)");
  check_tiles_and_window(options, where);
  check_per_head_options(options, heads, query, where);
}

void check_module_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                         int64_t query_width, int64_t key_width, int64_t value_width, const char* where) {
  check_floating(query, where, "query");
  check_floating(key, where, "key");
  check_floating(value, where, "value");
  TORCH_CHECK((query.dim() == 2 || query.dim() == 3) && query.dim() == key.dim() && key.dim() == value.dim(), where,
              ": query, key and value must all be batched [B, T, E] or all unbatched [T, E], got query ", query.sizes(),
              ", key ", key.sizes(), ", value ", value.sizes());
  TORCH_CHECK(query.dim() == 2 || (query.size(0) == key.size(0) && key.size(0) == value.size(0)), where,
              ": query, key and value must have the same batch size, got query ", query.sizes(), ", key ", key.sizes(),
              ", value ", value.sizes());
  TORCH_CHECK(query.size(-1) == query_width, where, ": query width must be ", query_width, ", got query ",
              query.sizes());
  TORCH_CHECK(key.size(-1) == key_width, where, ": key width must be ", key_width, ", got key ", key.sizes());
  TORCH_CHECK(value.size(-1) == value_width, where, ": value width must be ", value_width, ", got value ",
              value.sizes());
  TORCH_CHECK(key.size(-2) == value.size(-2), where, ": key and value must have the same length, got key ", key.sizes(),
              ", value ", value.sizes());
}

void check_multi_head_inputs(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                             const MultiHeadAttentionForwardOptions& options, const char* where) {
  struct Projection {
    const char* name;
    const torch::Tensor& weight;
    const torch::Tensor& bias;
  };
  const std::array<Projection, 4> projections{{{"W_q", options.W_q_weight(), options.W_q_bias()},
                                               {"W_k", options.W_k_weight(), options.W_k_bias()},
                                               {"W_v", options.W_v_weight(), options.W_v_bias()},
                                               {"W_o", options.W_o_weight(), options.W_o_bias()}}};
  for (const auto& [name, weight, bias] : projections) {
    TORCH_CHECK(weight.defined() && weight.dim() == 2, where, ": ", name,
                "_weight must be a matrix [out, in] (as torch::nn::Linear's weight), got ",
                weight.defined() ? weight.sizes() : torch::IntArrayRef{});
  }
  const auto &W_q = projections[0].weight, &W_k = projections[1].weight, &W_v = projections[2].weight,
             &W_o = projections[3].weight;
  check_module_inputs(query, key, value, W_q.size(1), W_k.size(1), W_v.size(1), where);
  for (const auto& [name, weight, bias] : projections) {
    for (const auto* tensor : {&weight, &bias}) {
      TORCH_CHECK(
          !tensor->defined() || (tensor->scalar_type() == query.scalar_type() && tensor->device() == query.device()),
          where, ": ", name, tensor == &weight ? "_weight" : "_bias", " is ", tensor->scalar_type(), " on ",
          tensor->device(), ", the query ", query.scalar_type(), " on ", query.device(),
          "; they must match (module->to(...) converts a module's weights)");
    }
    TORCH_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)), where, ": ", name,
                "_bias must be [", weight.size(0), "], one value per row of ", name, "_weight ", weight.sizes(),
                ", got ", bias.sizes());
  }
  const auto H = options.num_heads(), Hkv = options.num_kv_heads();
  check_positive(H, where, "num_heads");
  check_positive(Hkv, where, "num_kv_heads");
  TORCH_CHECK(H % Hkv == 0, where, ": num_kv_heads (", Hkv, ") must divide num_heads (", H, ")");
  TORCH_CHECK(W_q.size(0) > 0 && W_q.size(0) % H == 0, where, ": W_q_weight's rows must be num_heads (", H,
              ") heads of a width d > 0, got W_q_weight ", W_q.sizes());
  const auto d = W_q.size(0) / H;
  TORCH_CHECK(W_k.size(0) == Hkv * d, where, ": W_k_weight must have num_kv_heads · d = ", Hkv, " · ", d, " = ",
              Hkv * d, " rows (d = W_q_weight's rows / num_heads), got W_k_weight ", W_k.sizes());
  TORCH_CHECK(W_v.size(0) > 0 && W_v.size(0) % Hkv == 0, where, ": W_v_weight's rows must be num_kv_heads (", Hkv,
              ") heads of a width dv > 0, got W_v_weight ", W_v.sizes());
  const auto dv = W_v.size(0) / Hkv;
  TORCH_CHECK(W_o.size(0) == query.size(-1) && W_o.size(1) == H * dv, where, ": W_o_weight must be [E, H·dv] = [",
              query.size(-1), ", ", H * dv, "] (E the query width, dv = W_v_weight's rows / num_kv_heads), got ",
              "W_o_weight ", W_o.sizes());
  if (options.rope()) {
    TORCH_CHECK(d % 2 == 0, where, ": rope needs an even head width, got ", d, " (W_q_weight's ", W_q.size(0),
                " rows / num_heads ", H, ")");
    TORCH_CHECK(options.rope_base() > 0, where, ": rope_base must be > 0, got ", options.rope_base());
    const auto& frequencies = options.rope_frequencies();
    TORCH_CHECK(!frequencies.defined() || (frequencies.dim() == 1 && frequencies.size(0) == d / 2), where,
                ": rope_frequencies must be [d/2] = [", d / 2, "], got ",
                frequencies.defined() ? frequencies.sizes() : torch::IntArrayRef{});
  }
  struct Norm {
    const char* name;
    const torch::Tensor& weight;
  };
  const std::array<Norm, 2> norms{
      {{"q_norm_weight", options.q_norm_weight()}, {"k_norm_weight", options.k_norm_weight()}}};
  for (const auto& [name, weight] : norms) {
    if (!weight.defined()) {
      continue;
    }
    TORCH_CHECK(weight.dim() == 1 && weight.size(0) == d, where, ": ", name, " must be [d] = [", d,
                "], one value per element of a head (d = W_q_weight's rows ", W_q.size(0), " / num_heads ", H,
                "), got ", weight.sizes());
    TORCH_CHECK(weight.scalar_type() == query.scalar_type() && weight.device() == query.device(), where, ": ", name,
                " is ", weight.scalar_type(), " on ", weight.device(), ", the query ", query.scalar_type(), " on ",
                query.device(), "; they must match (module->to(...) converts a module's weights)");
    TORCH_CHECK(options.qk_norm_eps() > 0, where, ": qk_norm_eps must be > 0, got ", options.qk_norm_eps());
  }
}

void check_rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps, const char* where) {
  check_floating(x, where, "x");
  TORCH_CHECK(x.dim() >= 1, where, ": x must have a last dimension to normalise ([..., dim]), got a scalar");
  TORCH_CHECK(weight.defined() && weight.dim() == 1, where, ": weight must be a vector [dim], got ",
              weight.defined() ? weight.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(x.size(-1) == weight.size(0), where, ": x's last dimension (", x.size(-1), ") must be weight's size (",
              weight.size(0), "): x ", x.sizes(), ", weight ", weight.sizes());
  TORCH_CHECK(weight.scalar_type() == x.scalar_type() && weight.device() == x.device(), where, ": weight is ",
              weight.scalar_type(), " on ", weight.device(), ", x ", x.scalar_type(), " on ", x.device(),
              "; they must match (module->to(...) converts a module's weights)");
  TORCH_CHECK(eps > 0, where, ": eps must be > 0, got ", eps);
}

void check_dropout(double p, const char* where) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, where, ": dropout must be in [0, 1), got ", p);
}

void check_positive(int64_t value, const char* where, const char* name) {
  TORCH_CHECK(value > 0, where, ": ", name, " must be > 0, got ", value);
}

}  // namespace attention::detail
