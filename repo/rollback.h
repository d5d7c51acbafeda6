// Rollback: an in-place restore that first keeps the tree as it stands.
//
// Order: a dry run plans the restore (and compares content, unless `quick`); if it would change
// anything, the target is backed up as a pre-rollback snapshot (tags "pre-rollback" and
// "rollback-to:<short id>") and only then is the plan applied, so the broken state is kept for
// forensics and the rollback is undone by restoring that snapshot the same way. The apply pass
// trusts the dry run's comparison for files whose size and mtime did not move since.
// A partial pre-rollback snapshot (some entries unreadable) stops the rollback before any change.
#pragma once

#include <optional>

#include "repo/restore.h"

namespace cairn {

struct RollbackOptions {
  RestoreOptions restore;   // REQUIRES: restore.in_place
  bool undo_snapshot = true;  // false: no pre-rollback snapshot
  int threads = 0;            // for the pre-rollback snapshot; 0: one per core
};

struct RollbackResult {
  RestoreResult plan;     // the dry run (absent when there was no undo snapshot to decide on)
  RestoreResult applied;  // what was done (the plan again with restore.dry_run)
  std::optional<Id> undo_snapshot;
  std::string undo_root;  // the name of the target's entry in the undo snapshot
};

// `snapshot_id` names the snapshot being restored (for the undo snapshot's tag). The undo
// snapshot's id is also reported through reporter->Notice before anything changes.
Result<RollbackResult> RollBack(Repository* repo, const Snapshot& snapshot, const Id& snapshot_id,
                                const RollbackOptions& options, Reporter* reporter);

// The tags of a pre-rollback snapshot taken before restoring `snapshot_id`.
std::vector<std::string> PreRollbackTags(const Id& snapshot_id);

}  // namespace cairn
