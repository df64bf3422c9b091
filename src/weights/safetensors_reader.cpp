// read_safetensors: the Hugging Face safetensors format, every offset checked against the file.
#include "json_reader.h"
#include "weight_files.h"

#include <fstream>
#include <limits>
#include <vector>

namespace attention::detail {
namespace {

using Json = nlohmann::ordered_json;

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

torch::ScalarType dtype_of(const Json& name, const std::string& path, const std::string& key) {
  TORCH_CHECK(name.is_string(), path, ": tensor '", key, "' has no \"dtype\" string");
  std::string known;
  for (const auto& [text, dtype] : dtypes()) {
    if (name == text) {
      return dtype;
    }
    known += (known.empty() ? "" : ", ") + text;
  }
  C10_THROW_ERROR(Error, c10::str(path, ": tensor '", key, "' has dtype ", name.get_ref<const std::string&>(),
                                  ", which is not read (only ", known, ")"));
}

// A JSON array of non-negative integers, each at most `limit`.
std::vector<uint64_t> counts(const Json& array, uint64_t limit, const std::string& path, const std::string& key,
                             const char* what) {
  TORCH_CHECK(array.is_array(), path, ": tensor '", key, "' has no \"", what, "\" array");
  std::vector<uint64_t> values;
  for (const auto& value : array) {
    // Unsigned: written without a sign, fraction or exponent, and within 64 bits.
    TORCH_CHECK(value.is_number_unsigned() && value.get<uint64_t>() <= limit, path, ": tensor '", key, "' has \"", what,
                "\" ", array.dump(), ": each must be an integer from 0 to ", limit);
    values.push_back(value.get<uint64_t>());
  }
  return values;
}

// "__metadata__": free-form strings, e.g. {"format": "pt"}; checked, not needed.
void check_metadata(const Json& metadata, const std::string& path) {
  bool strings = metadata.is_object();
  for (const auto& value : metadata) {
    strings = strings && value.is_string();
  }
  TORCH_CHECK(strings, path, ": the safetensors \"__metadata__\" must map strings to strings, got ", metadata.dump());
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

  const auto header = parse_json(text, path + ": the safetensors header is not valid JSON", 8);
  TORCH_CHECK(header.is_object(), path, ": the safetensors header is not a JSON object");

  const uint64_t data_start = 8 + header_size, data_size = file_size - data_start;
  TensorDict tensors;
  std::vector<char> bytes;
  for (const auto& [key, entry] : header.get_ref<const Json::object_t&>()) {  // in the order of the file
    if (key == "__metadata__") {
      check_metadata(entry, path);
      continue;
    }
    const auto dtype_name = entry.find("dtype");  // end() when `entry` is no object
    const auto shape_array = entry.find("shape");
    const auto offsets_array = entry.find("data_offsets");
    TORCH_CHECK(dtype_name != entry.end() && shape_array != entry.end() && offsets_array != entry.end(), path,
                ": tensor '", key, "' needs \"dtype\", \"shape\" and \"data_offsets\", got ", entry.dump());
    const auto dtype = dtype_of(*dtype_name, path, key);
    const auto dims = counts(*shape_array, std::numeric_limits<int64_t>::max(), path, key, "shape");
    const auto offsets = counts(*offsets_array, data_size, path, key, "data_offsets");
    TORCH_CHECK(offsets.size() == 2 && offsets[0] <= offsets[1], path, ": tensor '", key, "' has data_offsets ",
                offsets_array->dump(), "; they must be [begin, end] within the ", data_size,
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
                dtype_name->get_ref<const std::string&>(), " does not fill its ", stored, " bytes (data_offsets ",
                offsets_array->dump(), ")");
    bytes.resize(stored);
    file.seekg(static_cast<std::streamoff>(data_start + offsets[0]));
    file.read(bytes.data(), static_cast<std::streamsize>(stored));
    TORCH_CHECK(file, path, ": cannot read the data of tensor '", key, "'");
    tensors.insert(key, tensor_from_bytes(bytes.data(), shape, dtype));
  }
  return tensors;
}

}  // namespace attention::detail
