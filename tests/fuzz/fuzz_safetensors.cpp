// libFuzzer target: the safetensors reader and its JSON reader (src/weights/safetensors_reader.cpp,
// json_reader.cpp), through attention::read_state_dict. Each input is read twice: as a whole file (its 8-byte
// header length included), and as the JSON header of a file with the right header length and 4096 zero bytes of
// data, so that every mutation of a header reaches the JSON reader and the checks of its entries.
#include "weight_file_fuzz.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  attention::fuzz::read_as_file(bytes);
  std::string length(8, '\0');
  for (size_t i = 0; i < 8; ++i) {
    length[i] = static_cast<char>((static_cast<uint64_t>(size) >> (8 * i)) & 0xff);
  }
  attention::fuzz::read_as_file(length + bytes + std::string(4096, '\0'));
  return 0;
}
