// Llama 3's rope_scaling: the rotary frequencies of long wavelengths divided by `factor`, short ones kept, those
// between blended (Hugging Face's _compute_llama3_parameters, modeling_rope_utils.py).
#include "model_parts.h"

#include <torch/torch.h>

#include <cmath>

namespace attention::detail {

torch::Tensor scaled_rope_frequencies(const ModelConfig& config, const torch::Device& device) {
  const auto& scaling = config.rope_scaling;
  if (config.model_type == "gpt2" || scaling.factor <= 0) {
    return {};
  }
  const auto d = config.head_dim;
  // inv_freq = 1 / theta^(arange(0, d, 2) / d), as Hugging Face computes it in float32.
  const auto frequencies = 1.0 / torch::pow(config.rope_theta, torch::arange(0, d, 2, torch::kLong).to(torch::kFloat) /
                                                                   static_cast<double>(d));
  const double low_wavelength = static_cast<double>(scaling.original_max_positions) / scaling.low_freq_factor;
  const double high_wavelength = static_cast<double>(scaling.original_max_positions) / scaling.high_freq_factor;
  const auto wavelength = 2 * M_PI / frequencies;
  auto scaled = torch::where(wavelength > low_wavelength, frequencies / scaling.factor, frequencies);
  const auto smooth = (static_cast<double>(scaling.original_max_positions) / wavelength - scaling.low_freq_factor) /
                      (scaling.high_freq_factor - scaling.low_freq_factor);
  const auto blended = (1 - smooth) * scaled / scaling.factor + smooth * scaled;
  const auto medium = (wavelength >= high_wavelength).logical_and(wavelength <= low_wavelength);
  scaled = torch::where(medium, blended, scaled);
  return scaled.to(device, torch::kDouble);
}

}  // namespace attention::detail
