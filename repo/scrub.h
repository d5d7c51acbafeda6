// Scrub: checking that a repository can be restored, before a disaster needs it.
//
// Structure check (always): every snapshot decodes, every tree it reaches loads,
// every blob it references is in the index, every pack the index names exists
// with the size the index records, and every pack on the backend is indexed.
// Data check (--read-data, or a subset): every selected pack is read whole, its
// name is checked against the SHA-256 of its bytes, its trailer is parsed, and
// every blob is authenticated, decompressed and re-hashed against its id.
// Findings name the damaged objects and the snapshots and files they affect.
// Every run that reads data records each pack it verified in the repository's scrub state
// (repo/scrub_state.h), which a rotating scrub (a budget) uses to continue where the
// previous run stopped.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "repo/reporter.h"
#include "repo/repository.h"
#include "repo/scrub_state.h"

namespace cairn {

struct ScrubOptions {
  bool read_data = false;
  // Read only packs whose bucket matches: subset_n of subset_m (1-based), stable across runs,
  // so "1/7" on Monday, "2/7" on Tuesday ... reads everything once a week.
  uint32_t subset_n = 0, subset_m = 0;
  // Or read about this percentage of packs (0 < p <= 100), chosen by pack id.
  double subset_percent = 0;
  // Or a rotating scrub: read the packs in ReadsBefore order (damaged at their last check,
  // never verified, least recently verified) until this many bytes are read or this much time
  // has passed since the scrub began. At least one pack is read, so every run makes progress.
  uint64_t budget_bytes = 0;
  int64_t budget_ns = 0;
  // Record the packs verified in the repository's scrub state.
  bool record = true;
  int threads = 0;
  // The time recorded for verifications; 0: the clock when each pack was verified (tests set it).
  int64_t now_ns = 0;
};

// Parses "N/M" or "P%" into options. kInvalidArgument if malformed.
Status ParseDataSubset(const std::string& spec, ScrubOptions* options);
// Parses a budget: a size ("20GiB", "500M", "1T", "10GB", "4096") or a duration ("30m", "2h",
// "90s", "1d"). Units: B, K/KiB, M/MiB, G/GiB, T/TiB (powers of 1024), KB/MB/GB/TB (of 1000);
// s, m or min (minutes), h, d. kInvalidArgument if malformed.
Status ParseScrubBudget(const std::string& spec, ScrubOptions* options);

struct Finding {
  bool damage = true;      // false: a notice (an unindexed pack left by an interrupted writer)
  std::string object;      // "pack 3fa2…", "blob 9c01…", "tree …", "snapshot …"
  std::string problem;
  std::vector<std::string> affected;  // "snapshot 1a2b3c4d: path/to/file"
};

struct ScrubReport {
  uint64_t snapshots = 0, trees = 0, blobs_referenced = 0;
  uint64_t packs = 0, packs_read = 0, blobs_read = 0, bytes_read = 0;
  uint64_t bytes_stored = 0;  // of all packs
  int64_t read_ns = 0;        // wall time of the data check
  // The scrub state object this run wrote ("" if it read no data or did not record), or why
  // recording failed (the checks themselves ran; a rotating scrub cannot continue without it).
  std::string state_object;
  std::string state_problem;
  std::vector<Finding> findings;
  bool damaged() const {
    for (const auto& f : findings)
      if (f.damage) return true;
    return false;
  }
};

Result<ScrubReport> Scrub(Repository* repo, const ScrubOptions& options, Reporter* reporter);

// What the scrub state says about the packs stored now (`cairn scrub --status`). now_ns 0: the
// clock. every_ns > 0 adds whether every byte was verified within it, and the daily budget
// that would make it so.
Result<ScrubStatus> GetScrubStatus(Repository* repo, int64_t now_ns, int64_t every_ns);

}  // namespace cairn
