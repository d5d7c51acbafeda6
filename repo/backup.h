// Backup: turning files, trees and streams into a snapshot.
//
// Content is chunked on the calling thread and chunks are hashed, deduplicated,
// compressed and sealed on worker threads; memory is bounded by the queue depth
// times the maximum chunk size, whatever the input size. Nothing is committed
// until every blob is durable: the snapshot object is written last.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/io.h"
#include "common/status.h"
#include "repo/exclude.h"
#include "repo/inplace.h"
#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn {

struct BackupOptions {
  std::string host;  // empty: this machine's hostname
  std::vector<std::string> tags;
  std::string kind;  // empty: "files" for paths, "stream" for streams
  int threads = 0;   // 0: one per core
  int64_t time_ns = 0;  // 0: now
  // Incremental backups: files unchanged since the parent snapshot (same size, mtime, ctime,
  // inode) are not read again. The parent is `parent` if set ("latest" or an id prefix), else
  // the newest snapshot of the same host and paths. `force` reads everything.
  std::string parent;
  bool force = false;
  // What is backed up below each path: excludes, marker files, one file system.
  Selection selection;
  // If set, every regular file backed up (read, or taken over from the parent) is recorded here
  // with its content ids: the in-place restore of a rollback then need not hash it again.
  KnownLiveTree* record_live_tree = nullptr;
  // Tests only: called with a file's path after it is opened and its size and mtime taken,
  // before it is read (to change the file under the reader).
  std::function<void(const std::string& path)> before_read_for_test;
};

struct BackupResult {
  Id snapshot_id;
  Snapshot snapshot;
  uint64_t files_unchanged = 0;  // taken over from the parent without reading
  uint64_t excluded = 0;         // entries left out by the selection (a directory counts once)
  // Files whose size or mtime moved while they were read: stored as read, flagged
  // kNodeChangedDuringRead in their node, and reported through the Reporter.
  uint64_t changed_during_read = 0;
};

// Backs up files, directories and symlinks. Each path becomes an entry of the snapshot's root
// tree named by its last component. Unreadable entries are reported and skipped, and the
// snapshot is then marked partial. `options.selection` applies below each path; the paths
// themselves are always backed up.
Result<BackupResult> BackupPaths(Repository* repo, const std::vector<std::string>& paths,
                                 const BackupOptions& options, Reporter* reporter);

// Backs up a byte stream as one file named `name`. `producer_status` is called after the end of
// input and before anything is committed: if it fails (the producing command failed), no
// snapshot is written and its status is returned.
Result<BackupResult> BackupStream(Repository* repo, Reader* input, const std::string& name,
                                  const BackupOptions& options, Reporter* reporter,
                                  const std::function<Status()>& producer_status);

}  // namespace cairn
