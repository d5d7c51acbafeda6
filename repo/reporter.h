// How the library tells its caller what is happening. The library never prints;
// the CLI implements this (text on a terminal, JSON lines with --json).
// Methods may be called from worker threads; implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cairn {

class Reporter {
 public:
  virtual ~Reporter() = default;
  // An input or output that was skipped, with why. The operation goes on.
  virtual void Problem(const std::string& path, const Status& status) { (void)path, (void)status; }
  // Something the user should know that is not a failure.
  virtual void Notice(const std::string& path, const std::string& what) { (void)path, (void)what; }
  // False if progress is not shown anywhere, so work done only for it (sizing the input for an
  // ETA) can be skipped.
  virtual bool WantsProgress() const { return true; }
  // The expected total of bytes to process, once known (for an ETA). May never be called.
  virtual void Total(uint64_t bytes) { (void)bytes; }
  // Bytes processed so far (monotonic), and the file being worked on.
  virtual void Progress(uint64_t bytes_done, const std::string& current) {
    (void)bytes_done, (void)current;
  }
};

}  // namespace cairn
