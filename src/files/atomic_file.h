#pragma once
// Writing a file so that it is, at every moment, either the old or the new whole file. Shared by the pictures
// library and the `attention` program (an internal object library, not installed).

#include <functional>
#include <string>

namespace attention::files {

/// The suffix of the temporary file, for files whose writer does not choose the format by the extension.
inline constexpr const char* kTemporarySuffix = ".tmp";

/// Writes `path` through the temporary file `path` + `temporary_suffix` next to it: `write(temporary)` creates
/// that file, it is flushed to the disk (fsync, so that after the rename a power cut leaves the new file rather
/// than an empty one), `verify(temporary)`, when given, checks it (a write that failed without saying so never
/// replaces the old file), and a rename puts it in place. On any failure the temporary file is removed, `path`
/// is left as it was, and the exception is passed on; the flush and the rename throw std::runtime_error naming
/// `path` and the system's reason.
void write_atomically(const std::string& path, const std::string& temporary_suffix,
                      const std::function<void(const std::string& temporary)>& write,
                      const std::function<void(const std::string& temporary)>& verify = {});

/// Writes `bytes` to `path` (created or truncated), checking every write: a full disk is an error here, not a
/// short file. std::runtime_error naming `path` and the system's reason.
void write_bytes(const std::string& path, const std::string& bytes);

}  // namespace attention::files
