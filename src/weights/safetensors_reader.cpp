// read_safetensors: the Hugging Face safetensors format, every offset checked against the file.
#include "weight_files.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <limits>
#include <vector>

namespace attention::detail {
namespace {

// The largest JSON header read, as the reference implementation's limit: 100 MB.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// The safetensors dtypes LibTorch 1.13 has (no U16/U32/U64, no float8).
const std::vector<std::pair<std::string, torch::ScalarType>>& dtypes() {
  static const std::vector<std::pair<std::string, torch::ScalarType>> table = {
      {"F64", torch::kDouble}, {"F32", torch::kFloat}, {"F16", torch::kHalf},  {"BF16", torch::kBFloat16},
      {"I64", torch::kLong},   {"I32", torch::kInt},   {"I16", torch::kShort}, {"I8", torch::kChar},
      {"U8", torch::kByte},    {"BOOL", torch::kBool}};
  return table;
}

torch::ScalarType dtype_of(const nlohmann::ordered_json& name, const std::string& path, const std::string& key) {
  TORCH_CHECK(name.is_string(), path, ": tensor '", key, "' has no \"dtype\" string");
  std::string known;
  for (const auto& [text, dtype] : dtypes()) {
    if (name.get<std::string>() == text) {
      return dtype;
    }
    known += (known.empty() ? "" : ", ") + text;
  }
  C10_THROW_ERROR(Error, c10::str(path, ": tensor '", key, "' has dtype ", name.get<std::string>(),
                                  ", which is not read (only ", known, ")"));
}

// A JSON array of non-negative integers, each at most `limit`.
std::vector<uint64_t> counts(const nlohmann::ordered_json& array, uint64_t limit, const std::string& path,
                             const std::string& key, const char* what) {
  TORCH_CHECK(array.is_array(), path, ": tensor '", key, "' has no \"", what, "\" array");
  std::vector<uint64_t> values;
  for (const auto& value : array) {
    TORCH_CHECK(value.is_number_unsigned() && value.get<uint64_t>() <= limit, path, ": tensor '", key, "' has \"", what,
                "\" ", array.dump(), ": each must be an integer from 0 to ", limit);
    values.push_back(value.get<uint64_t>());
  }
  return values;
}

}  // namespace

TensorDict read_safetensors(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  TORCH_CHECK(file, path, ": cannot open");
  const auto file_size = static_cast<uint64_t>(file.tellg());
  file.seekg(0);
  unsigned char length[8] = {};
  file.read(reinterpret_cast<char*>(length), sizeof length);
  TORCH_CHECK(file, path, ": shorter than the 8 bytes of a safetensors header length");
  uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) {
    header_size = (header_size << 8) | length[i];
  }
  TORCH_CHECK(header_size <= kMaxHeaderBytes && header_size <= file_size - 8, path, ": safetensors header of ",
              header_size, " bytes, but the file has ", file_size, " bytes (truncated or not safetensors?)");
  std::string text(header_size, '\0');
  file.read(text.data(), static_cast<std::streamsize>(header_size));
  TORCH_CHECK(file, path, ": cannot read its safetensors header");

  nlohmann::ordered_json header;
  try {
    header = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& error) {
    C10_THROW_ERROR(Error, c10::str(path, ": the safetensors header is not valid JSON: ", error.what()));
  }
  TORCH_CHECK(header.is_object(), path, ": the safetensors header is not a JSON object");

  const uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  TensorDict tensors;
  std::vector<char> bytes;
  for (const auto& item : header.items()) {
    const auto& key = item.key();
    const auto& entry = item.value();
    if (key == "__metadata__") {  // free-form strings, e.g. {"format": "pt"}: not needed
      continue;
    }
    TORCH_CHECK(
        entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets"), path,
        ": tensor '", key, "' needs \"dtype\", \"shape\" and \"data_offsets\", got ", entry.dump());
    const auto dtype = dtype_of(entry["dtype"], path, key);
    const auto dims = counts(entry["shape"], std::numeric_limits<int64_t>::max(), path, key, "shape");
    const auto offsets = counts(entry["data_offsets"], data_size, path, key, "data_offsets");
    TORCH_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1], path, ": tensor '", key, "' has data_offsets ",
                entry["data_offsets"].dump(), "; they must be [begin, end] within the ", data_size,
                " data bytes (truncated?)");
    // numel * itemsize must equal end - begin; each product is checked against it, so none overflows.
    const auto itemsize = static_cast<uint64_t>(c10::elementSize(dtype));
    const uint64_t stored = offsets[1] - offsets[0];
    uint64_t numel = 1;
    bool fits = true;
    for (const auto dim : dims) {
      fits = fits && (dim == 0 || numel <= stored / itemsize / dim);
      numel = fits ? numel * dim : 0;
    }
    fits = fits && numel * itemsize == stored;
    std::vector<int64_t> shape(dims.begin(), dims.end());
    TORCH_CHECK(fits, path, ": tensor '", key, "' of shape ", torch::IntArrayRef(shape), " and dtype ",
                entry["dtype"].get<std::string>(), " does not fill its ", stored, " bytes (data_offsets ",
                entry["data_offsets"].dump(), ")");
    bytes.resize(stored);
    file.seekg(static_cast<std::streamoff>(data_start + offsets[0]));
    file.read(bytes.data(), static_cast<std::streamsize>(stored));
    TORCH_CHECK(file, path, ": cannot read the data of tensor '", key, "'");
    tensors.insert(key, tensor_from_bytes(bytes.data(), shape, dtype));
  }
  return tensors;
}

}  // namespace attention::detail
