// Scrub: checking that a repository can be restored, before a disaster needs it.
//
// Structure check (always): every snapshot decodes, every tree it reaches loads,
// every blob it references is in the index, every pack the index names exists
// with the size the index records, and every pack on the backend is indexed.
// Data check (--read-data, or a subset): every selected pack is read whole, its
// name is checked against the SHA-256 of its bytes, its trailer is parsed, and
// every blob is authenticated, decompressed and re-hashed against its id.
// Findings name the damaged objects and the snapshots and files they affect.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn {

struct ScrubOptions {
  bool read_data = false;
  // Read only packs whose bucket matches: subset_n of subset_m (1-based), stable across runs,
  // so "1/7" on Monday, "2/7" on Tuesday ... reads everything once a week.
  uint32_t subset_n = 0, subset_m = 0;
  // Or read about this percentage of packs (0 < p <= 100), chosen by pack id.
  double subset_percent = 0;
  int threads = 0;
};

// Parses "N/M" or "P%" into options. kInvalidArgument if malformed.
Status ParseDataSubset(const std::string& spec, ScrubOptions* options);

struct Finding {
  bool damage = true;      // false: a notice (an unindexed pack left by an interrupted writer)
  std::string object;      // "pack 3fa2…", "blob 9c01…", "tree …", "snapshot …"
  std::string problem;
  std::vector<std::string> affected;  // "snapshot 1a2b3c4d: path/to/file"
};

struct ScrubReport {
  uint64_t snapshots = 0, trees = 0, blobs_referenced = 0;
  uint64_t packs = 0, packs_read = 0, blobs_read = 0, bytes_read = 0;
  std::vector<Finding> findings;
  bool damaged() const {
    for (const auto& f : findings)
      if (f.damage) return true;
    return false;
  }
};

Result<ScrubReport> Scrub(Repository* repo, const ScrubOptions& options, Reporter* reporter);

}  // namespace cairn
