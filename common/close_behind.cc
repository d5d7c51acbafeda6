#include "common/close_behind.h"

#include <unistd.h>

namespace cairn {

// Few descriptors wait: a caller that hands them over faster than they close (a big delete) is
// slowed to the closes' pace rather than running out of descriptors.
CloseBehind::CloseBehind(int threads) : pool_(threads, 16) {}

void CloseBehind::Close(int fd) {
  pool_.Submit([fd] {
    (void)close(fd);
    return Status::OK();
  });
}

}  // namespace cairn
