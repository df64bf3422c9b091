#pragma once
// For the tests of read_state_dict and load_state_dict: the files PyTorch wrote (tests/data/state_dicts), and
// files written here: chosen bytes, or safetensors (8-byte little-endian header length, JSON header, data).

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace attention::testing {

/// tests/data/state_dicts/`name`, written by tests/data/make_state_dicts.py.
inline std::string state_dict_file(const std::string& name) {
  return std::string(ATTENTION_TEST_DATA_DIR) + "/state_dicts/" + name;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

/// A safetensors file of the JSON `header` (written as given) and the `data` bytes after it.
inline void write_safetensors_raw(const std::string& path, const std::string& header, const std::string& data) {
  std::string length(8, '\0');
  for (size_t i = 0; i < 8; ++i) {
    length[i] = static_cast<char>((static_cast<uint64_t>(header.size()) >> (8 * i)) & 0xff);
  }
  write_bytes(path, length + header + data);
}

/// A safetensors file of `tensors` (float32, float64, float16, bfloat16, int64 or bool), in that order.
inline void write_safetensors(const std::string& path,
                              const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  const std::vector<std::pair<torch::ScalarType, const char*>> dtypes = {
      {torch::kFloat, "F32"},     {torch::kDouble, "F64"}, {torch::kHalf, "F16"},
      {torch::kBFloat16, "BF16"}, {torch::kLong, "I64"},   {torch::kBool, "BOOL"}};
  nlohmann::ordered_json header;
  std::string data;
  for (const auto& [name, tensor] : tensors) {
    const auto contiguous = tensor.contiguous();
    std::string dtype;
    for (const auto& [type, text] : dtypes) {
      dtype = type == contiguous.scalar_type() ? text : dtype;
    }
    const auto begin = data.size();
    data.append(static_cast<const char*>(contiguous.data_ptr()), contiguous.numel() * contiguous.element_size());
    header[name] = {{"dtype", dtype}, {"shape", contiguous.sizes().vec()}, {"data_offsets", {begin, data.size()}}};
  }
  write_safetensors_raw(path, header.dump(), data);
}

}  // namespace attention::testing
