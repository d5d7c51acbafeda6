// Snapshot objects (snapshots/<id>): the root of one backup. Written last, after
// every pack and index file it depends on is durable, so a listed snapshot is
// always complete (docs/FORMAT.md "Snapshots").
#pragma once

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

// Snapshot flags.
inline constexpr uint64_t kSnapshotPartial = 1;  // some inputs could not be read

struct SnapshotStats {
  uint64_t files = 0, dirs = 0, symlinks = 0;
  uint64_t bytes_raw = 0;         // content bytes seen
  uint64_t blobs_added = 0;       // new blobs stored by this snapshot
  uint64_t bytes_added_raw = 0;   // their plaintext size
  uint64_t bytes_added_stored = 0;  // their size in packs
  uint64_t errors = 0;            // inputs skipped
};

struct Snapshot {
  int64_t time_ns = 0;  // Unix time, nanoseconds
  std::string host, user;
  std::vector<std::string> paths;  // absolute paths backed up, or empty for a stream
  std::vector<std::string> tags;
  std::string kind;        // "files", or for streams the producer kind ("pg-dump", "stream"…)
  std::string stdin_name;  // for streams: the file name the stream is stored under
  Id tree;
  Id parent;  // zero if none
  uint64_t flags = 0;
  SnapshotStats stats;

  bool partial() const { return flags & kSnapshotPartial; }
  bool is_stream() const { return !stdin_name.empty(); }
};

Bytes EncodeSnapshot(const Snapshot& s);
Result<Snapshot> DecodeSnapshot(ByteView plaintext);

}  // namespace cairn
