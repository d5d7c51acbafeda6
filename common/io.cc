#include "common/io.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cairn {

Result<size_t> FdReader::Read(uint8_t* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) {
      bytes_read_ += static_cast<uint64_t>(r);
      return static_cast<size_t>(r);
    }
    if (errno == EINTR) continue;
    return Status::FromErrno(errno, "read");
  }
}

Result<size_t> MemReader::Read(uint8_t* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  if (k) std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

}  // namespace cairn
