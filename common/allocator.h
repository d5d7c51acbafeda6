// How cairn sets up glibc's malloc, once, first thing in main.
#pragma once

namespace cairn {

// Call before any thread starts: glibc settles the number of arenas when a second thread first
// allocates, and a later call leaves it as it is. The huge pages are a hint: on a system
// without transparent huge pages (or with them set to "never") the heap keeps 4 KiB pages.
void TuneAllocator();

}  // namespace cairn
