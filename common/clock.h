// Wall-clock time as the repository records it: Unix time in nanoseconds.
#pragma once

#include <chrono>
#include <cstdint>

namespace cairn {

inline int64_t WallNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cairn
