#include "common/close_behind.h"

#include <unistd.h>

namespace cairn {

CloseBehind::CloseBehind(int threads) : pool_(threads, 1 << 16) {}

void CloseBehind::Close(int fd) {
  pool_.Submit([fd] {
    (void)close(fd);
    return Status::OK();
  });
}

}  // namespace cairn
