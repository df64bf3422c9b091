// Position information: rotary embeddings and ALiBi slopes.
#include <attention/positions.h>

#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace attention {
namespace {

/// ALiBi's slopes for a power of two n: 2^(-8/n · (i + 1)).
std::vector<double> power_of_two_slopes(int64_t n) {
  std::vector<double> slopes;
  const double start = std::pow(2.0, -8.0 / static_cast<double>(n));
  for (int64_t i = 0; i < n; ++i) {
    slopes.push_back(std::pow(start, static_cast<double>(i + 1)));
  }
  return slopes;
}

/// Throws unless x is a floating tensor [..., T, d] of an even width d.
void check_rotary_input(const torch::Tensor& x) {
  TORCH_CHECK(x.defined() && x.is_floating_point() && x.dim() >= 2,
              "rotary_embedding: x must be a floating tensor [..., T, d], got ",
              x.defined() ? x.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(x.size(-1) % 2 == 0,
              "rotary_embedding: the width d must be even (pairs i, i + d/2 rotate together), got x ", x.sizes());
}

}  // namespace

torch::Tensor rotary_embedding(const torch::Tensor& x, const torch::Tensor& positions, double base) {
  check_rotary_input(x);
  TORCH_CHECK(base > 0, "rotary_embedding: base must be > 0, got ", base);
  const auto width = x.size(-1);
  const auto doubles = torch::TensorOptions(torch::kDouble).device(x.device());
  return rotary_embedding(x, positions, torch::pow(base, torch::arange(width / 2, doubles) * (-2.0 / width)));
}

torch::Tensor rotary_embedding(const torch::Tensor& x, const torch::Tensor& positions,
                               const torch::Tensor& inverse_frequency) {
  constexpr const char* where = "rotary_embedding";
  check_rotary_input(x);
  const auto length = x.size(-2), width = x.size(-1);
  TORCH_CHECK(inverse_frequency.defined() && inverse_frequency.is_floating_point() && inverse_frequency.dim() == 1 &&
                  inverse_frequency.size(0) == width / 2,
              where, ": the frequencies must be a floating tensor [d/2] = [", width / 2, "], got ",
              inverse_frequency.defined() ? inverse_frequency.sizes() : torch::IntArrayRef{});
  TORCH_CHECK(positions.defined() && !positions.is_floating_point() && positions.scalar_type() != torch::kBool, where,
              ": positions must be an integer tensor, got ",
              positions.defined() ? positions.scalar_type() : torch::ScalarType::Undefined);
  const bool per_batch = positions.dim() == 2;
  TORCH_CHECK((positions.dim() == 1 && positions.size(0) == length) ||
                  (per_batch && x.dim() >= 3 && positions.size(0) == x.size(0) && positions.size(1) == length),
              where, ": positions must be [T] or [B, T] (B = x's first dimension), got ", positions.sizes(), " for x ",
              x.sizes());
  const auto half = width / 2;
  const auto doubles = torch::TensorOptions(torch::kDouble).device(x.device());
  auto angles = positions.to(doubles).unsqueeze(-1) * inverse_frequency.to(doubles);  // [T, d/2] or [B, T, d/2]
  if (per_batch) {
    auto shape = angles.sizes().vec();
    shape.insert(shape.begin() + 1, x.dim() - 3, 1);  // [B, 1, ..., 1, T, d/2]
    angles = angles.view(shape);
  }
  const auto cos = angles.cos().to(x.scalar_type()), sin = angles.sin().to(x.scalar_type());
  const auto first = x.narrow(-1, 0, half), second = x.narrow(-1, half, half);
  return torch::cat({first * cos - second * sin, second * cos + first * sin}, -1);
}

torch::Tensor alibi_slopes(int64_t num_heads) {
  TORCH_CHECK(num_heads > 0, "alibi_slopes: num_heads must be > 0, got ", num_heads);
  const auto power = int64_t{1} << static_cast<int>(std::floor(std::log2(static_cast<double>(num_heads))));
  auto slopes = power_of_two_slopes(power);
  const auto finer = power_of_two_slopes(2 * power);
  for (int64_t i = 0; static_cast<int64_t>(slopes.size()) < num_heads; i += 2) {
    slopes.push_back(finer[i]);
  }
  return torch::tensor(slopes, torch::kDouble).to(torch::kFloat);
}

}  // namespace attention
