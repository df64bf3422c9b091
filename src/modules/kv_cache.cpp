// The key/value cache of generation: appends with spare capacity, grown by doubling.
#include <attention/kv_cache.h>

#include <torch/torch.h>

#include <algorithm>

namespace attention {

void KVCache::clear() {
  keys_ = torch::Tensor();
  values_ = torch::Tensor();
  size_ = 0;
}

torch::Tensor KVCache::keys() const { return size_ == 0 ? torch::Tensor() : keys_.narrow(2, 0, size_); }

torch::Tensor KVCache::values() const { return size_ == 0 ? torch::Tensor() : values_.narrow(2, 0, size_); }

void KVCache::append(const torch::Tensor& keys, const torch::Tensor& values) {
  constexpr const char* where = "KVCache::append";
  TORCH_CHECK(keys.defined() && values.defined() && keys.dim() == 4 && values.dim() == 4 &&
                  keys.sizes().slice(0, 3) == values.sizes().slice(0, 3),
              where, ": keys [B, Hkv, T, d] and values [B, Hkv, T, dv] of equal B, Hkv and T expected, got keys ",
              keys.defined() ? keys.sizes() : torch::IntArrayRef{}, ", values ",
              values.defined() ? values.sizes() : torch::IntArrayRef{});
  if (size_ > 0) {
    TORCH_CHECK(keys.size(0) == keys_.size(0) && keys.size(1) == keys_.size(1) && keys.size(3) == keys_.size(3) &&
                    values.size(3) == values_.size(3),
                where, ": the cache holds keys ", keys_.narrow(2, 0, size_).sizes(), " and values ",
                values_.narrow(2, 0, size_).sizes(), "; new keys ", keys.sizes(), " and values ", values.sizes(),
                " differ in batch, heads or width (clear() the cache before a new batch)");
    TORCH_CHECK(keys.scalar_type() == keys_.scalar_type() && keys.device() == keys_.device(), where,
                ": the cache holds ", keys_.scalar_type(), " on ", keys_.device(), ", new keys are ",
                keys.scalar_type(), " on ", keys.device());
  }
  const auto added = keys.size(2);
  const bool recording = torch::GradMode::is_enabled() &&
                         (keys.requires_grad() || values.requires_grad() || (size_ > 0 && keys_.requires_grad()));
  if (recording) {  // autograd follows a concatenation, not writes into spare capacity
    keys_ = size_ == 0 ? keys : torch::cat({this->keys(), keys}, 2);
    values_ = size_ == 0 ? values : torch::cat({this->values(), values}, 2);
    size_ += added;
    return;
  }
  if (size_ == 0 || size_ + added > keys_.size(2)) {
    const auto capacity = std::max<int64_t>(size_ + added, 2 * (size_ == 0 ? added : keys_.size(2)));
    auto grown_keys = keys.new_empty({keys.size(0), keys.size(1), capacity, keys.size(3)});
    auto grown_values = values.new_empty({values.size(0), values.size(1), capacity, values.size(3)});
    if (size_ > 0) {
      grown_keys.narrow(2, 0, size_).copy_(this->keys());
      grown_values.narrow(2, 0, size_).copy_(this->values());
    }
    keys_ = grown_keys;
    values_ = grown_values;
  }
  keys_.narrow(2, size_, added).copy_(keys);
  values_.narrow(2, size_, added).copy_(values);
  size_ += added;
}

}  // namespace attention
