#pragma once
// The readers of weight files behind read_state_dict(), one per format. Internal, not installed.

#include <torch/ordered_dict.h>
#include <torch/types.h>

#include <cstring>
#include <string>

namespace attention::detail {

/// Tensors by name, in the file's order.
using TensorDict = torch::OrderedDict<std::string, torch::Tensor>;

/// A safetensors file: 8-byte little-endian header length N, N bytes of JSON
/// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the data.
TensorDict read_safetensors(const std::string& path);

/// A torch.save zip archive of a state_dict: <name>/data.pkl (see unpickle_state_dict), <name>/data/<key>
/// (the storages), <name>/version.
TensorDict read_torch_save(const std::string& path);

/// A tensor of `shape` and `dtype` holding a copy of `bytes`, which must hold exactly its numel * itemsize
/// little-endian bytes. Bool bytes other than 0 read as true.
inline torch::Tensor tensor_from_bytes(const void* bytes, torch::IntArrayRef shape, torch::ScalarType dtype) {
  const bool is_bool = dtype == torch::kBool;
  auto tensor = torch::empty(shape, is_bool ? torch::kByte : dtype);
  if (tensor.numel() > 0) {  // an empty tensor may have no data pointer
    std::memcpy(tensor.data_ptr(), bytes, tensor.numel() * tensor.element_size());
  }
  return is_bool ? tensor.ne(0) : tensor;
}

}  // namespace attention::detail
