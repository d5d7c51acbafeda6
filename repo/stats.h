// Stats: how much a repository holds and what deduplication and compression save, in total and
// per snapshot (including the bytes only that snapshot references: what forgetting it frees).
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct SnapshotUsage {
  SnapshotRef ref;
  uint64_t files = 0;
  uint64_t raw_bytes = 0;          // content bytes of its files
  uint64_t blobs = 0;              // distinct blobs it references (data and trees)
  uint64_t unique_blobs = 0;       // ... that no other snapshot references
  uint64_t unique_raw_bytes = 0;   // their plaintext size
  uint64_t unique_stored_bytes = 0;  // their size in packs: freed by forget + prune
};

struct RepoUsage {
  std::vector<SnapshotUsage> snapshots;  // oldest first
  uint64_t raw_bytes = 0;         // sum over snapshots: what restoring all of them writes
  uint64_t blobs = 0;             // distinct blobs any snapshot references
  uint64_t unique_raw_bytes = 0;  // their plaintext size: the content after dedup
  uint64_t stored_bytes = 0;      // their size in packs: after dedup and compression
  uint64_t missing_blobs = 0;     // referenced, but in no index (run scrub)
  uint64_t packs = 0, pack_bytes = 0;  // everything in the packs, referenced or not
  double dedup_ratio() const { return unique_raw_bytes ? double(raw_bytes) / double(unique_raw_bytes) : 0; }
  double compression_ratio() const { return stored_bytes ? double(unique_raw_bytes) / double(stored_bytes) : 0; }
};

// Walks every snapshot once per pass (two passes: count references, then sum). Memory: one
// counter per distinct referenced blob.
Result<RepoUsage> ComputeUsage(Repository* repo);

}  // namespace cairn
