// Sequential byte sources. A Reader is what the chunker pulls from: a file,
// stdin, a child process's stdout, or an in-memory buffer in tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

class Reader {
 public:
  virtual ~Reader() = default;
  // Reads up to n bytes into buf. Returns the count read; 0 means end of input.
  // Short reads are allowed before the end.
  virtual Result<size_t> Read(uint8_t* buf, size_t n) = 0;
};

// Reads from a file descriptor it does not own.
class FdReader : public Reader {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override;
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  int fd_;
  uint64_t bytes_read_ = 0;
};

// Reads from memory that outlives it.
class MemReader : public Reader {
 public:
  explicit MemReader(ByteView data) : data_(data) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  ByteView data_;
  size_t pos_ = 0;
};

}  // namespace cairn
