// Bool masks (true = may attend) built from lengths: causal, local (a window on both sides) and padding.
#include <attention/functional.h>

#include <torch/torch.h>

namespace attention {

torch::Tensor causal_mask(int64_t query_len, int64_t key_len, torch::Device device, CausalAlignment alignment) {
  TORCH_CHECK(query_len >= 0 && key_len >= 0, "causal_mask: lengths must be >= 0, got query_len=", query_len,
              ", key_len=", key_len);
  const int64_t diagonal = alignment == CausalAlignment::TopLeft ? 0 : key_len - query_len;
  return torch::ones({query_len, key_len}, torch::TensorOptions(torch::kBool).device(device)).tril(diagonal);
}

torch::Tensor local_mask(int64_t query_len, int64_t key_len, int64_t window, torch::Device device) {
  TORCH_CHECK(query_len >= 0 && key_len >= 0, "local_mask: lengths must be >= 0, got query_len=", query_len,
              ", key_len=", key_len);
  TORCH_CHECK(window >= 0, "local_mask: window must be >= 0, got ", window);
  const auto options = torch::TensorOptions(torch::kLong).device(device);
  const auto query_pos = torch::arange(query_len, options).unsqueeze(1);  // [Tq, 1]
  const auto key_pos = torch::arange(key_len, options).unsqueeze(0);      // [1, Tk]
  return (query_pos - key_pos).abs() <= window;                           // [Tq, Tk]
}

torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t key_len) {
  TORCH_CHECK(lengths.defined() && lengths.dim() == 1, "padding_mask: lengths must be a 1-d tensor [B], got ",
              lengths.defined() ? lengths.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(!lengths.is_floating_point() && !lengths.is_complex() && lengths.scalar_type() != torch::kBool,
              "padding_mask: lengths must be integers, got ", lengths.scalar_type());
  TORCH_CHECK(key_len >= 0, "padding_mask: key_len must be >= 0, got ", key_len);
  if (lengths.numel() > 0) {
    const auto shortest = lengths.min().item<int64_t>();
    const auto longest = lengths.max().item<int64_t>();
    TORCH_CHECK(shortest >= 0 && longest <= key_len, "padding_mask: lengths must lie in [0, key_len=", key_len,
                "], got values from ", shortest, " to ", longest);
  }
  const auto key_pos = torch::arange(key_len, lengths.options().dtype(torch::kLong)).unsqueeze(0);  // [1, Tk]
  const auto batch = lengths.size(0);
  return (key_pos < lengths.to(torch::kLong).unsqueeze(1)).view({batch, 1, 1, key_len});  // [B, 1, 1, Tk]
}

}  // namespace attention
