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
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "repo/reporter.h"
#include "repo/fetch_plan.h"
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
};

struct RestoreResult {
  uint64_t files = 0, dirs = 0, symlinks = 0, bytes = 0;
  uint64_t damaged = 0;  // entries not restored because repository data was damaged
  uint64_t failed = 0;   // entries not restored for other reasons
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
