// Its own test program: the settings are per process and must come before any thread starts.
#include "common/allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

namespace cairn {
namespace {

// The VmFlags of the mapping that holds `p`, from /proc/self/smaps ("" if not found).
std::string VmFlagsOf(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  std::string line;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = addr >= lo && addr < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool HasFlag(const std::string& vm_flags, const std::string& flag) {
  return (vm_flags + " ").find(" " + flag + " ") != std::string::npos;
}

TEST(Allocator, EveryThreadAllocatesFromTheHeapHintedForHugePages) {
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  if (!thp) GTEST_SKIP() << "this kernel has no transparent huge pages";
  TuneAllocator();

  // Big enough not to fit a hole left by what ran before main, which may lie below the hinted
  // part; its middle is then in the hinted part.
  constexpr size_t kSize = 1 << 20;
  auto mine = std::make_unique<char[]>(kSize);
  std::string main_flags = VmFlagsOf(mine.get() + kSize / 2);
  ASSERT_FALSE(main_flags.empty());
  EXPECT_TRUE(HasFlag(main_flags, "hg")) << main_flags;

  // A thread started afterwards shares the one arena, hence the hinted heap.
  std::string worker_flags;
  std::thread worker([&] {
    auto theirs = std::make_unique<char[]>(kSize);
    worker_flags = VmFlagsOf(theirs.get() + kSize / 2);
  });
  worker.join();
  EXPECT_TRUE(HasFlag(worker_flags, "hg")) << worker_flags;
}

}  // namespace
}  // namespace cairn
