// Prune: reclaiming the space of data no snapshot references, without ever taking data a
// concurrent writer is about to reference (docs/DESIGN.md "Prune").
//
// Two phases, so that a WAL push or a nightly snapshot never waits for prune:
//  - mark: blobs reachable from the snapshots are marked; packs holding none are dropped from
//    the index files, and packs whose unused share is high are repacked (their live blobs copied
//    into new packs) and dropped likewise. The dropped packs, and packs no index file names
//    (left by killed writers), are recorded with the time in a prune record;
//  - sweep: once a record is older than the grace period, each of its packs that is still named
//    by no index file and holds no blob a snapshot now needs is deleted; a pack that became
//    needed again is indexed again instead.
// With `no_other_writers` the operator asserts that nothing else writes, and both phases run at
// once: the space is freed by this run.
//
// Memory: 32 bytes per reachable blob plus the tree ids, and one pack at a time when repacking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn {

inline constexpr int64_t kDefaultPruneGraceNs = 48ll * 3600 * 1'000'000'000;
// Writers treat marks up to an hour before their start as later than it (clock skew), so a
// sweep sooner than that after its mark would make sessions that started after the mark refuse
// to commit. A shorter grace period is refused; `no_other_writers` is the way to free at once.
inline constexpr int64_t kMinPruneGraceNs = 2ll * 3600 * 1'000'000'000;

struct PruneOptions {
  bool dry_run = false;          // plan and report; change nothing
  bool no_other_writers = false;  // delete at once (the operator vouches that nothing writes)
  int64_t grace_ns = kDefaultPruneGraceNs;
  // Repack the emptiest partly-used packs until unused bytes in kept packs are at most this
  // share of the used bytes. 100 never repacks.
  double max_unused_percent = 5;
  int64_t now_ns = 0;  // 0: the wall clock (tests set it to step over the grace period)
};

struct PruneReport {
  uint64_t snapshots = 0, trees = 0, blobs_reachable = 0;
  uint64_t packs = 0, pack_bytes = 0;     // indexed packs examined
  uint64_t used_bytes = 0;                // bytes of reachable blobs in them
  uint64_t unused_packs = 0, unused_pack_bytes = 0;  // packs holding no reachable blob
  uint64_t repacked_packs = 0, repacked_pack_bytes = 0, repacked_live_bytes = 0;
  uint64_t orphan_packs = 0, orphan_bytes = 0;       // packs no index file names
  uint64_t marked_packs = 0, marked_bytes = 0;       // recorded by this run for a later sweep
  uint64_t deleted_packs = 0, freed_bytes = 0;       // deleted by this run
  uint64_t unfinished_put_bytes = 0;  // killed writers' partial uploads (no_other_writers only)
  uint64_t reindexed_packs = 0;  // pending packs needed again (or indexed again by a writer)
  uint64_t waiting_packs = 0, waiting_bytes = 0;     // pending, grace period not over
  int64_t next_sweep_ns = 0;                         // earliest time a waiting pack may go
  uint64_t index_files_written = 0, index_files_removed = 0;
  std::vector<std::string> problems;  // damaged packs left in place, and why
  // Bytes a sweep would free: unused and repacked packs, plus orphans.
  uint64_t reclaimable_bytes() const { return unused_pack_bytes + repacked_pack_bytes + orphan_bytes; }
};

Result<PruneReport> Prune(Repository* repo, const PruneOptions& options, Reporter* reporter);

}  // namespace cairn
