#include "common/close_behind.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace cairn {
namespace {

TEST(CloseBehind, EveryDescriptorHandedOverIsClosedByTheEnd) {
  std::vector<int> read_ends;
  {
    CloseBehind closer(3);
    for (int i = 0; i < 50; ++i) {
      int p[2];
      ASSERT_EQ(pipe(p), 0);
      read_ends.push_back(p[0]);
      closer.Close(p[1]);
    }
  }
  // A pipe reads end-of-file only once its write end is closed everywhere.
  for (int fd : read_ends) {
    char c;
    EXPECT_EQ(read(fd, &c, 1), 0);
    close(fd);
  }
}

}  // namespace
}  // namespace cairn
