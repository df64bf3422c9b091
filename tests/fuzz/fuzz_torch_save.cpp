// libFuzzer target: the torch.save reader (src/weights/torch_save_reader.cpp, unpickler.cpp). An input that starts
// as a zip archive ("PK\3\4") is read as a whole file by attention::read_state_dict: LibTorch's zip reader, the
// records, the unpickler. Any other input is a data.pkl given straight to the unpickler (compiled in: it is
// internal to the library) with storages of zeros that always fit: inside an archive, a mutation that changes the
// pickle's length breaks the sizes and offsets the zip records, and one that changes a storage's size is refused
// before the tensors are built.
#include "unpickler.h"
#include "weight_file_fuzz.h"

#include <c10/util/Exception.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace {

// The most elements a storage may have here: the fuzzer's files are smaller than that.
constexpr int64_t kMaxNumel = 1 << 16;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.rfind("PK\x03\x04", 0) == 0) {
    attention::fuzz::read_as_file(bytes);
    return 0;
  }
  // As read_torch_save's storages: a 1-D tensor of exactly `numel` elements of `dtype`, or c10::Error.
  const auto zeros = [](const std::string& key, torch::ScalarType dtype, int64_t numel) {
    TORCH_CHECK(numel >= 0 && numel <= kMaxNumel, "storage '", key, "' of ", numel, " elements");
    return torch::zeros({numel}, dtype);
  };
  try {
    for (const auto& item : attention::detail::unpickle_state_dict(bytes, zeros, "data.pkl")) {
      (void)item.value().clone();
    }
  } catch (const c10::Error&) {
    // Refused with a message: fine.
  }
  return 0;
}
