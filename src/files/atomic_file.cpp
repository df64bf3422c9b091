#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace attention::files {
namespace {

namespace fs = std::filesystem;

/// Flushes `temporary` to the disk; std::runtime_error naming `path`, the file it will become.
void sync_file(const std::string& temporary, const std::string& path) {
  const int fd = ::open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int error = errno;
  if (fd >= 0) {
    ::close(fd);
  }
  if (!synced) {
    throw std::runtime_error("cannot write " + path + ": cannot flush " + temporary +
                             " to the disk: " + std::strerror(error));
  }
}

}  // namespace

void write_atomically(const std::string& path, const std::string& temporary_suffix,
                      const std::function<void(const std::string& temporary)>& write,
                      const std::function<void(const std::string& temporary)>& verify) {
  const auto temporary = path + temporary_suffix;
  try {
    write(temporary);
    sync_file(temporary, path);
    if (verify) {
      verify(temporary);
    }
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error) {
      throw std::runtime_error("cannot write " + path + ": cannot rename " + temporary + " to it: " + error.message());
    }
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
}

void write_bytes(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw std::runtime_error(path + ": cannot create: " + std::strerror(errno));
  }
  for (size_t written = 0; written < bytes.size();) {
    const auto count = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR) {
      continue;
    }
    if (count <= 0) {
      const int error = count < 0 ? errno : ENOSPC;
      ::close(fd);
      throw std::runtime_error(path + ": cannot write: " + std::strerror(error));
    }
    written += static_cast<size_t>(count);
  }
  if (::close(fd) != 0) {
    throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
  }
}

}  // namespace attention::files
