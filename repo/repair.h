// Repair: making a damaged repository consistent again, and telling exactly what is lost.
//
//  1. Check packs: those missing or of the wrong size, those the last scrubs found damaged, or
//     (read_data) every indexed pack. A pack that fails is read a second time, so a passing
//     fault (a flaky read) never counts as damage.
//  2. Salvage: the intact blobs of each damaged pack that no intact pack also holds are copied
//     into new packs.
//  3. Take the damaged and missing packs out of the index (index files rewritten, new before
//     old) and record them in a repair record: they are quarantined, so neither prune's sweep
//     nor `index rebuild --from-packs` brings their damaged blobs back; prune deletes them.
//  4. Name the snapshots that still reference a blob no pack provides, and the files of each
//     that cannot be restored whole; the record keeps that list for `cairn snapshots`.
//
// A lost blob is no longer in the index, so the next backup that meets the same content stores
// it again, and every snapshot that references it is whole again: a later repair (which
// re-evaluates the snapshots) then clears the mark. Restoring a damaged snapshot restores
// everything intact and names what is not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/repair_record.h"
#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn {

struct RepairOptions {
  bool read_data = false;  // check every indexed pack, not only those known to be damaged
  bool dry_run = false;    // check and report; change nothing
  int threads = 0;
  int64_t now_ns = 0;      // 0: the wall clock
};

struct RepairReport {
  uint64_t packs_checked = 0, bytes_read = 0;
  uint64_t packs_missing = 0;     // indexed, not in the repository
  uint64_t packs_damaged = 0;     // quarantined (or would be, on a dry run)
  uint64_t packs_flaky = 0;       // failed one read, passed the second: left as they are
  uint64_t blobs_salvaged = 0;    // copied out of damaged packs
  uint64_t blobs_lost = 0;        // in no intact pack any more
  uint64_t index_files_written = 0, index_files_removed = 0;
  std::vector<std::string> findings;  // one line per damaged or missing pack
  std::vector<DamagedSnapshot> damaged_snapshots;
  std::vector<std::string> unreadable_snapshots;  // snapshot objects that cannot be read
  uint64_t healed_snapshots = 0;  // marked damaged by the previous repair, whole now
  std::string record;             // the repair record written ("" on a dry run or if unchanged)
  bool clean() const { return damaged_snapshots.empty() && unreadable_snapshots.empty(); }
};

Result<RepairReport> Repair(Repository* repo, const RepairOptions& options, Reporter* reporter);

// The snapshots the current repair record names as damaged (for listings). A damaged record is
// reported through `problems` and ignored.
Result<std::vector<DamagedSnapshot>> MarkedDamagedSnapshots(Repository* repo,
                                                            std::vector<std::string>* problems);

}  // namespace cairn
