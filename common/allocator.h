// How cairn sets up glibc's malloc, once, first thing in main.
#pragma once

namespace cairn {

// Call before any thread starts. The settings are hints: on a system without transparent huge
// pages (or with them set to "never") the heap keeps 4 KiB pages, and nothing else changes.
void TuneAllocator();

}  // namespace cairn
