// to_nfc: ICU's NFC normalizer on UTF-8 text.
#include "nfc.h"

#include <c10/util/Exception.h>

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/utypes.h>

#include <cstdint>

namespace attention::detail {

std::string to_nfc(std::string_view text) {
  TORCH_CHECK(text.size() <= static_cast<size_t>(INT32_MAX), "NFC normalizer: a text of ", text.size(),
              " bytes is longer than ICU takes (2 GiB)");
  UErrorCode status = U_ZERO_ERROR;
  const auto* nfc = icu::Normalizer2::getNFCInstance(status);
  TORCH_CHECK(U_SUCCESS(status), "NFC normalizer: ICU has no NFC data: ", u_errorName(status));
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (nfc->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) {
    return std::string(text);
  }
  status = U_ZERO_ERROR;
  std::string normalized;
  icu::StringByteSink<std::string> sink(&normalized, static_cast<int32_t>(text.size()));
  nfc->normalizeUTF8(0, piece, sink, nullptr, status);
  TORCH_CHECK(U_SUCCESS(status), "NFC normalizer: ICU failed: ", u_errorName(status));
  return normalized;
}

}  // namespace attention::detail
