// Restore: snapshot contents back to a folder or a file descriptor.
//
// Safety rules (docs/DESIGN.md "Restore"):
//  - every path is built from validated tree entry names with openat/mkdirat relative to an
//    open directory and O_NOFOLLOW, so neither a hostile repository nor a symlink in the target
//    can make restore write outside the target folder;
//  - a file is written under a temporary name and renamed into place only when every blob was
//    authenticated and matched its id, so damage never produces a wrong file.
// A damaged blob skips its file (reported) and the restore goes on; a failure writing the
// target (full disk) stops it.
//
// In-place mode (`in_place`) restores over an existing tree and changes only what differs: a
// file whose content matches is not written (inode and mtime untouched), a changed file is
// rebuilt from the chunks already in the live file plus, through the same fetch plan, only the
// blobs it lacks; metadata and type changes are applied, and with `delete_extra` entries absent
// from the snapshot are removed. A live symlink is never followed, and a live file is never
// opened for writing (a hard link's other names keep their content). repo/rollback.h adds the
// pre-rollback snapshot on top.
#pragma once

#include <string>
#include <vector>

#include "common/close_behind.h"
#include "common/status.h"
#include "repo/reporter.h"
#include "repo/fetch_plan.h"
#include "repo/inplace.h"
#include "repo/repository.h"

namespace cairn {

struct RestoreOptions {
  std::string target;                 // created if missing
  std::vector<std::string> includes;  // glob patterns on snapshot paths; empty: everything
  int threads = 0;                    // 0: one per core
  bool restore_owner = false;         // chown entries (needs root)
  // Read, authenticate and decompress everything but write nothing (`cairn bench restore`).
  bool decode_only = false;
  FetchTimings* timings = nullptr;    // if set, per-stage time is added here
  // After writing, re-read every written file from disk (synced, page cache dropped) and check
  // its chunk ids against the snapshot's.
  bool verify = false;

  // In-place mode (REQUIRES: includes empty).
  bool in_place = false;
  bool delete_extra = false;  // remove entries that are not in the snapshot
  bool dry_run = false;       // plan and count only; change nothing
  // With dry_run: stop at the first difference. Enough to decide whether a rollback changes
  // anything (and so needs its pre-rollback snapshot) without comparing the whole tree twice.
  bool stop_at_first_change = false;
  // Trust size + mtime equal to the snapshot's as "content matches" instead of comparing
  // chunk ids.
  bool quick = false;
  // Without `quick`, a file that is the very inode the snapshot read, untouched since (same
  // device, inode, ctime, mtime and size), is trusted to match without reading it, as backup
  // trusts it; `checksum` compares its content all the same.
  bool checksum = false;
  bool list_changes = false;  // fill RestoreResult::changes
  // In-place: live files whose content ids are already known (a rollback's pre-rollback snapshot
  // just read them): compared by those ids instead of being read again.
  KnownLiveTree* known_live_tree = nullptr;
  // In-place: if set, the live files replaced are closed there once renamed over, rather than
  // by the restore (see common/close_behind.h); the caller keeps it past the restore.
  CloseBehind* close_behind = nullptr;
};

// One entry an in-place restore changes (or, in a dry run, would change).
struct PlannedChange {
  std::string path;
  std::string action;  // "create", "write", "metadata", "replace", "delete", "conflict"
  uint64_t bytes = 0;  // bytes written (create/write/replace), or removed (delete)
};

struct RestoreResult {
  // Entries written (in a dry run: to be written). `bytes` is their content size.
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
  uint64_t damaged = 0;  // entries not restored because repository data was damaged
  uint64_t failed = 0;   // entries not restored for other reasons
  // Bytes read from the repository's packs (in a dry run: the stored size of the blobs that
  // would be read) and bytes copied from live files instead.
  uint64_t bytes_fetched = 0, bytes_reused = 0;
  // In-place: entries left as they were, entries whose metadata alone was set, entries removed
  // (with the file bytes they held), live folders left where the snapshot has a file or symlink
  // (without `delete_extra`), leftover temporary files of a killed restore removed.
  uint64_t unchanged = 0, metadata = 0, deleted = 0, deleted_bytes = 0, conflicts = 0;
  uint64_t stale_temps = 0;
  // Live files read and compared by content (the others matched without reading: `quick`, or
  // untouched since the snapshot read them).
  uint64_t compared = 0;
  uint64_t verified = 0, verify_mismatches = 0;  // with `verify`
  std::vector<PlannedChange> changes;            // with `list_changes`

  // True if anything in the target is (or would be) changed.
  bool changed() const {
    return files + dirs + symlinks + metadata + deleted + stale_temps > 0;
  }
};

Result<RestoreResult> RestoreToDir(Repository* repo, const Snapshot& snapshot,
                                   const RestoreOptions& options, Reporter* reporter);

// Writes one file of the snapshot (or, with an empty path, the stream of a stream snapshot or
// its single file) to fd in order. Returns the byte count.
// Blobs are fetched in parallel (threads; 0 = one per core) and written in order.
Result<uint64_t> RestoreToFd(Repository* repo, const Snapshot& snapshot, const std::string& path,
                             int fd, int threads = 0);

// True if `path` is selected by the include patterns (or there are none).
bool IncludeMatches(const std::vector<std::string>& includes, const std::string& path);

}  // namespace cairn
