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
  // command will use; the memory goes back to the heap at once, untouched but for malloc's
  // headers.
  constexpr uintptr_t kGrow = 16 << 20;
  const uintptr_t before = reinterpret_cast<uintptr_t>(sbrk(0));
  void* grow = std::malloc(kGrow);
  if (grow == nullptr) return;
  const uintptr_t at = reinterpret_cast<uintptr_t>(grow);
  std::free(grow);
  const uintptr_t end = reinterpret_cast<uintptr_t>(sbrk(0));
  // Only if the block came from the heap just grown: when the heap cannot grow, glibc maps the
  // block elsewhere, and a range up to the heap's end could then span other mappings.
  if (end < before + kGrow || at >= end || at + kGrow > end) return;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t start = at & ~(page - 1);  // a heap page
  (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE);
}

}  // namespace cairn
