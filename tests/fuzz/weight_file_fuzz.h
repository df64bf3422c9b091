#pragma once
// For the fuzz targets of the weight-file readers: bytes read by attention::read_state_dict from a file in memory
// (memfd). The reader may refuse them only with c10::Error; a crash, another exception, a sanitizer report or a
// hang is a bug.
#include <attention/state_dict.h>

#include <c10/util/Exception.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace attention::fuzz {

/// The tensors `bytes` hold as a weight file, each copied (which reads every element a view reaches), or none when
/// the reader refuses them.
inline void read_as_file(const std::string& bytes) {
  static const int fd = memfd_create("weights", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 ||
      pwrite(fd, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size())) {
    std::perror("weight_file_fuzz: memfd");
    std::abort();
  }
  try {
    for (const auto& item : read_state_dict(path)) {
      (void)item.value().clone();
    }
  } catch (const c10::Error&) {
    // Refused with a message: fine.
  }
}

}  // namespace attention::fuzz
