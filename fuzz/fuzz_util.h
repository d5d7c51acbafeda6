// Shared by the fuzz targets: a check that crashes (so libFuzzer reports the input) when a
// parser accepted something that breaks its own contract.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "common/bytes.h"
#include "common/status.h"

#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

namespace cairn {

inline ByteView FuzzInput(const uint8_t* data, size_t size) { return ByteView(data, size); }

// What a parser accepted re-encodes canonically: the encoding decodes again, to a value that
// encodes to the same bytes.
template <typename T, typename Encode>
void CheckReencodes(const Result<T>& decoded, Result<T> (*decode)(ByteView), Encode encode) {
  if (!decoded.ok()) return;
  Bytes encoded = encode(*decoded);
  Result<T> again = decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(encode(*again) == encoded);
}

}  // namespace cairn
