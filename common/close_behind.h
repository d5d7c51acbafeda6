// Closes file descriptors on threads of its own, for a caller that should not wait for a close.
//
// Closing the last descriptor of a file that was replaced or unlinked frees the file, and that
// can wait on the disk: ext4 mounted with `discard` and without a journal (the benchmark VM)
// discards the freed blocks there and then, about 150 us a file, and a rollback replaces its
// changed files. The waits of several threads overlap each other and the caller's own work.
#pragma once

#include "common/task_group.h"

namespace cairn {

class CloseBehind {
 public:
  explicit CloseBehind(int threads = 4);
  // Returns once every descriptor handed over is closed.
  ~CloseBehind() = default;
  CloseBehind(const CloseBehind&) = delete;
  CloseBehind& operator=(const CloseBehind&) = delete;

  // Takes ownership of fd (>= 0); blocks while 16 are waiting. A close that fails is not
  // reported: only read-only descriptors belong here, whose close has nothing to lose.
  void Close(int fd);

 private:
  TaskGroup pool_;
};

}  // namespace cairn
