// Ready-made mask_mods and their combinations (see MaskMod in flex.h).
#include <attention/flex.h>

#include <torch/torch.h>

#include <utility>

namespace attention {
namespace {

/// Throws unless `mask_mod` is set; `where` names the caller.
void check_set(const MaskMod& mask_mod, const char* where, const char* name) {
  TORCH_CHECK(mask_mod != nullptr, where, ": mask_mod ", name, " is empty");
}

}  // namespace

MaskMod and_masks(MaskMod a, MaskMod b) {
  check_set(a, "and_masks", "a");
  check_set(b, "and_masks", "b");
  return [a = std::move(a), b = std::move(b)](const ScoreIndex& index) { return a(index).logical_and(b(index)); };
}

MaskMod or_masks(MaskMod a, MaskMod b) {
  check_set(a, "or_masks", "a");
  check_set(b, "or_masks", "b");
  return [a = std::move(a), b = std::move(b)](const ScoreIndex& index) { return a(index).logical_or(b(index)); };
}

MaskMod document_mask(const torch::Tensor& ids) {
  TORCH_CHECK(ids.defined() && (ids.dim() == 1 || ids.dim() == 2) && ids.scalar_type() == torch::kLong,
              "document_mask: ids must be int64 [B, T] or [T], got ",
              ids.defined() ? c10::toString(ids.scalar_type()) : "an undefined tensor", " of shape ",
              ids.defined() ? ids.sizes() : torch::IntArrayRef{});
  return [ids](const ScoreIndex& index) {
    const auto on_device = ids.to(index.query.device());
    if (on_device.dim() == 1) {
      return on_device.index({index.query}) == on_device.index({index.key});
    }
    return on_device.index({index.batch, index.query}) == on_device.index({index.batch, index.key});
  };
}

MaskMod prefix_lm_mask(int64_t prefix_length) {
  TORCH_CHECK(prefix_length >= 0, "prefix_lm_mask: prefix_length must be >= 0, got ", prefix_length);
  return [prefix_length](const ScoreIndex& index) {
    return (index.key < prefix_length).logical_or(index.key <= index.query);
  };
}

}  // namespace attention
