#include "common/allocator.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace cairn {

void TuneAllocator() {
  // Buffers of a few hundred KiB to a few MiB (packs, envelopes, chunks) come and go all the
  // time. glibc would map each afresh and give it back at once, so every use paid the kernel's
  // page faults and zeroing again; keeping freed memory for reuse made a rollback 5-8% faster.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 64 << 20);

  // The first touch of a heap page is a page fault, and on a virtual machine a fault can cost
  // 15 us (the benchmark VM). A rollback touched about 7,000 fresh pages, mostly small
  // allocations (tree nodes, index lookups) spread over the heap and over one malloc arena per
  // thread: a quarter of its CPU time. The heap is therefore hinted for 2 MiB pages, and every
  // thread allocates from it: glibc maps the arenas of other threads without the hint. The
  // threads' big buffers are kept per thread (common/bytes.h), so the one arena's lock is taken
  // for small allocations only; a 1 GiB snapshot was no slower with it. Together the two cut a
  // rollback's faults to about 1,000 and its time by about a fifth (docs/BENCHMARKS.md).
  mallopt(M_ARENA_MAX, 1);
  // Grows the heap now (by the request plus M_TOP_PAD), so that the hint covers what the
  // command will use; the memory is given back to the heap at once and not touched.
  void* grow = std::malloc(16 << 20);
  if (grow == nullptr) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  uintptr_t start = reinterpret_cast<uintptr_t>(grow) & ~(page - 1);  // a heap page
  std::free(grow);
  uintptr_t end = reinterpret_cast<uintptr_t>(sbrk(0));
  if (end > start) (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
}

}  // namespace cairn
