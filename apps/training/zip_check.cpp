#include "training/zip_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace attention::app {
namespace {

/// The CRC-32 of zip (zlib's), over a buffer that may exceed zlib's 32-bit length.
uint64_t crc32_of(const unsigned char* data, uint64_t size) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  for (uint64_t done = 0; done < size;) {
    const auto chunk = static_cast<uInt>(std::min<uint64_t>(size - done, 1u << 30));
    crc = ::crc32(crc, data + done, chunk);
    done += chunk;
  }
  return crc;
}

}  // namespace

void check_zip_records(const std::string& text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const uint64_t length = text.size();
  const auto u16 = [&](uint64_t at) -> uint64_t {
    if (at >= length || length - at < 2) {
      throw std::runtime_error("a record runs past the end of the file");
    }
    return bytes[at] | (uint64_t{bytes[at + 1]} << 8);
  };
  const auto u32 = [&](uint64_t at) -> uint64_t { return u16(at) | (u16(at + 2) << 16); };
  const auto u64 = [&](uint64_t at) -> uint64_t { return u32(at) | (u32(at + 4) << 32); };
  // The end-of-central-directory record: the last 22 bytes, unless the archive has a comment (torch::save
  // writes none).
  if (length < 22 || u32(length - 22) != 0x06054b50) {
    throw std::runtime_error("no zip directory at the end of the file");
  }
  const auto end = length - 22;
  uint64_t entries = u16(end + 10), directory = u32(end + 16);
  if (entries == 0xFFFF || directory == 0xFFFFFFFF) {  // zip64: the locator just before points to the record
    if (end < 20 || u32(end - 20) != 0x07064b50) {
      throw std::runtime_error("no zip64 locator");
    }
    const auto record = u64(end - 12);
    if (u32(record) != 0x06064b50) {
      throw std::runtime_error("no zip64 directory record");
    }
    entries = u64(record + 32);
    directory = u64(record + 48);
  }
  for (uint64_t i = 0, at = directory; i < entries; ++i) {
    if (u32(at) != 0x02014b50) {
      throw std::runtime_error("a broken zip directory entry");
    }
    const auto method = u16(at + 10), name_length = u16(at + 28), extra_length = u16(at + 30);
    const auto comment_length = u16(at + 32);
    const auto crc = u32(at + 16);
    uint64_t size = u32(at + 20), local = u32(at + 42);
    const auto name_begin = std::min<uint64_t>(at + 46, length);
    const auto name_end = std::min<uint64_t>(name_begin + name_length, length);
    const std::string name(text, name_begin, name_end - name_begin);
    // zip64 extra field: the 64-bit sizes and offset, for those of the 32-bit fields that are 0xFFFFFFFF.
    for (uint64_t extra = at + 46 + name_length; extra + 4 <= at + 46 + name_length + extra_length;) {
      const auto id = u16(extra), extra_size = u16(extra + 2);
      if (id == 0x0001) {
        uint64_t field = extra + 4;
        if (u32(at + 24) == 0xFFFFFFFF) {
          field += 8;
        }
        if (size == 0xFFFFFFFF) {
          size = u64(field);
          field += 8;
        }
        if (local == 0xFFFFFFFF) {
          local = u64(field);
        }
      }
      extra += 4 + extra_size;
    }
    if (u32(local) != 0x04034b50) {
      throw std::runtime_error("record " + name + " has no local header");
    }
    const auto data = local + 30 + u16(local + 26) + u16(local + 28);
    if (data > length || size > length - data) {
      throw std::runtime_error("record " + name + " is cut short");
    }
    // The tensors and the state are stored; only LibTorch's small generated code records (no weights) are
    // deflated, and those are not checked here.
    if (method == 0 && crc32_of(bytes + data, size) != crc) {
      throw std::runtime_error("record " + name + " fails its CRC-32 check");
    }
    at += 46 + name_length + extra_length + comment_length;
  }
}

}  // namespace attention::app
