// read_torch_save: the zip archive torch.save writes (PyTorch >= 1.6), read with LibTorch's own zip reader;
// its data.pkl goes through the strict unpickler, which asks here for the storages.
#include "unpickler.h"
#include "weight_files.h"

#include <c10/util/safe_numerics.h>
#include <caffe2/serialize/inline_container.h>

#include <memory>
#include <utility>

namespace attention::detail {
namespace {

// Runs `read` on the archive, turning the zip reader's errors into ones that name the file.
template <typename Read>
auto from_archive(const std::string& path, const std::string& what, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const c10::Error& error) {
    C10_THROW_ERROR(Error, c10::str(path, ": cannot read ", what,
                                    " (truncated or corrupt zip archive?): ", error.what_without_backtrace()));
  }
}

bool has_record(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path, const std::string& name) {
  return from_archive(path, name, [&] { return reader.hasRecord(name); });
}

std::string record_text(caffe2::serialize::PyTorchStreamReader& reader, const std::string& path,
                        const std::string& name) {
  auto [data, size] = from_archive(path, name, [&] { return reader.getRecord(name); });
  return std::string(static_cast<const char*>(data.get()), size);
}

}  // namespace

TensorDict read_torch_save(const std::string& path) {
  using caffe2::serialize::PyTorchStreamReader;
  auto reader = from_archive(path, "the zip directory", [&] { return std::make_unique<PyTorchStreamReader>(path); });
  TORCH_CHECK(has_record(*reader, path, "data.pkl"), path,
              ": a zip archive without data.pkl, so not a torch.save file of a state_dict");
  if (has_record(*reader, path, "byteorder")) {  // written by PyTorch >= 2.1
    const auto order = record_text(*reader, path, "byteorder");
    TORCH_CHECK(order == "little", path, ": saved on a '", order, "'-endian machine; only little-endian is read");
  }
  const auto load_storage = [&](const std::string& key, torch::ScalarType dtype, int64_t numel) {
    const auto name = "data/" + key;
    TORCH_CHECK(has_record(*reader, path, name), path, ": storage '", key, "' is missing (no record ", name, ")");
    auto [data, size] = from_archive(path, name, [&] { return reader->getRecord(name); });
    uint64_t needed = 0;
    const bool overflow =
        c10::mul_overflows(static_cast<uint64_t>(numel), static_cast<uint64_t>(c10::elementSize(dtype)), &needed);
    TORCH_CHECK(!overflow && needed == size, path, ": storage '", key, "' has ", size, " bytes, but ", numel,
                " elements of ", dtype, " need ", numel, " x ", c10::elementSize(dtype));
    return tensor_from_bytes(data.get(), {numel}, dtype);
  };
  return unpickle_state_dict(record_text(*reader, path, "data.pkl"), load_storage, path);
}

}  // namespace attention::detail
