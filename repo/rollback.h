// Rollback: an in-place restore that first keeps the tree as it stands.
//
// Order: a dry run looks for the first difference (comparing as the restore will); if there is
// one, the target is backed up as a pre-rollback snapshot (tags "pre-rollback" and
// "rollback-to:<short id>") and only then is the restore run, so the broken state is kept for
// forensics and the rollback is undone by restoring that snapshot the same way. When nothing
// differs the dry run has compared everything, and nothing is written at all.
// A partial pre-rollback snapshot (some entries unreadable) stops the rollback before any change.
#pragma once

#include <functional>
#include <optional>

#include "repo/restore.h"

namespace cairn {

struct RollbackOptions {
  RestoreOptions restore;   // REQUIRES: restore.in_place
  bool undo_snapshot = true;  // false: no pre-rollback snapshot
  int threads = 0;            // for the pre-rollback snapshot; 0: one per core
  // Tests only: called after the pre-rollback snapshot is committed, before anything changes
  // (to change the tree between the two, as a writer that was not stopped would).
  std::function<void()> after_undo_snapshot_for_test;
};

struct RollbackResult {
  // The dry run, stopped at its first difference (absent when there was no undo snapshot to
  // decide on); complete when nothing differs.
  RestoreResult plan;
  RestoreResult applied;  // what was done (the plan itself with restore.dry_run)
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
