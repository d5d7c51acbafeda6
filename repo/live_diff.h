// Comparing a snapshot with live files: what a restore of the snapshot would change, or what
// the next backup would record. The runbooks' "validate the live files against the backup's
// checksums" step.
//
// Both sides are walked in name order; live entries are opened relative to their directory
// with O_NOFOLLOW, so a live symlink is compared as a symlink and never followed. Files of the
// same type and size are compared by content: the live file is chunked with the repository's
// chunker and id key (ChunkLocalFile) and its ids compared with the node's. No data pack is
// read (trees are), so the check works on a repository whose packs are far away or damaged.
// Files are hashed on a pool of threads; differences are still reported in path order.
//
// Changes use the vocabulary of DiffTrees (repo/diff.h): `before` is the snapshot's node,
// `after` a node describing the live entry (its content ids are not filled in).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/status.h"
#include "repo/diff.h"
#include "repo/exclude.h"
#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn {

struct LiveDiffOptions {
  // Trust size and mtime: a file with the same size and mtime as its node is unchanged and not
  // read. Files of the same size but another mtime are still read, to tell a content change
  // from a metadata-only one.
  bool quick = false;
  int threads = 0;  // hashing threads; 0: one per core
  // The selection the snapshot was taken with, so entries it left out are not reported as
  // added: live entries it excludes count as absent. Patterns are relative to backed-up paths,
  // that is to the first component of snapshot paths; `snapshot_base` is where in the snapshot
  // the compared folder is ("app/conf" for `latest:app/conf`), empty for the root.
  const Selection* selection = nullptr;
  std::string snapshot_base;
};

struct LiveDiffResult {
  DiffStats diff;
  uint64_t unreadable = 0;  // live entries that could not be read (reported, not compared)
  uint64_t files_read = 0;  // live files chunked and hashed
  uint64_t bytes_read = 0;
  bool identical() const { return diff.identical() && !unreadable; }
};

using DiffCallback = std::function<void(const DiffEntry&)>;

// Compares the contents of snapshot tree `tree` with the contents of the live directory `dir`.
// Paths in entries are relative to both roots. Sockets, FIFOs and devices are not compared
// (backup does not store them): they count as absent, with a notice. Unreadable live entries
// are reported through `reporter` (may be null) and counted, and the walk goes on.
// `fn` is called on the calling thread.
Result<LiveDiffResult> DiffLive(Repository* repo, const Id& tree, const std::string& dir,
                                const LiveDiffOptions& options, const DiffCallback& fn,
                                Reporter* reporter);

// Compares one node of a snapshot with the live entry at `path` (a file, directory or symlink).
// Paths in entries start with the node's name, as in `cairn diff` of two snapshots.
Result<LiveDiffResult> DiffLiveEntry(Repository* repo, const Node& node, const std::string& path,
                                     const LiveDiffOptions& options, const DiffCallback& fn,
                                     Reporter* reporter);

// The root-tree node under which `snapshot` stored the live path `path`, if `path` (made
// absolute) is one of the snapshot's backed-up paths. Lets `cairn diff latest /srv/app` compare
// /srv/app with what the snapshot holds for it.
Result<std::optional<Node>> BackedUpEntry(Repository* repo, const Snapshot& snapshot,
                                          const std::string& path);

}  // namespace cairn
