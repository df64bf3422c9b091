#pragma once
// The integrity check of a zip archive (the format of torch::save): its records against their CRC-32.

#include <string>

namespace attention::app {

/// Checks every stored (uncompressed) record of the zip archive `bytes` against the CRC-32 in the archive's
/// directory (zip64 included). LibTorch does not check them when it loads an archive, so without this a flipped
/// byte in the weights would load silently. Throws std::runtime_error saying what is damaged, e.g. "record
/// archive/data/0 fails its CRC-32 check" or "no zip directory at the end of the file".
void check_zip_records(const std::string& bytes);

}  // namespace attention::app
