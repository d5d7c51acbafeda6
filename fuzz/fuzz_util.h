// Shared by the fuzz targets: a check that crashes (so libFuzzer reports the input) when a
// parser accepted something that breaks its own contract.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "common/bytes.h"

#define FUZZ_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

namespace cairn {

inline ByteView FuzzInput(const uint8_t* data, size_t size) { return ByteView(data, size); }

}  // namespace cairn
