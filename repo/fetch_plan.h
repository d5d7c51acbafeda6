// The restore planner: given the blobs a restore needs and where each goes,
// read every pack region once, in pack order, and deliver each blob's verified
// plaintext to all the places that want it.
//
// Reads are coalesced: blobs of one pack that lie close together are fetched
// with one range read (up to kMaxReadBytes), so restoring a file whose chunks
// sit in a few packs costs a few large sequential reads rather than one small
// read per chunk. A gap is read through only while the range holds at least as many wanted
// bytes as gap bytes, so a sparse plan (a rollback) never reads more than twice what it needs.
// Each blob is authenticated, decompressed and re-hashed
// against its id before delivery; a failure is reported per target and never
// delivered.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <vector>

#include "common/status.h"
#include "common/task_group.h"
#include "repo/repository.h"

namespace cairn {

// Where one copy of a blob goes: an opaque file number and an offset in it.
struct BlobTarget {
  size_t file = 0;
  uint64_t offset = 0;
};

// Nanoseconds spent per stage, summed over worker threads.
struct FetchTimings {
  std::atomic<uint64_t> read_ns{0}, decrypt_ns{0}, decompress_ns{0}, verify_ns{0}, write_ns{0};
  std::atomic<uint64_t> bytes_read{0}, range_reads{0};
};

class FetchPlan {
 public:
  static constexpr uint64_t kMaxReadBytes = 8ull << 20;
  static constexpr uint64_t kMaxGapBytes = 256ull << 10;

  void Add(const BlobLocation& loc, BlobTarget target);
  bool empty() const { return blobs_.empty(); }
  size_t blob_count() const { return blobs_.size(); }

  using Deliver = std::function<Status(const BlobTarget&, ByteView plaintext)>;
  using Damaged = std::function<void(const BlobTarget&, const Status&)>;

  // Runs the plan on `pool`. `deliver` is called from worker threads, once per target, for
  // verified plaintext; an error from it (a write failure) stops the restore. `damaged` is
  // called for the targets of blobs that could not be read or verified.
  Status Execute(Repository* repo, TaskGroup* pool, const Deliver& deliver, const Damaged& damaged,
                 FetchTimings* timings) const;

 private:
  // One range read: blobs of one pack close enough to be read together.
  struct Run {
    Id pack;
    std::vector<size_t> slots;  // into blobs_, in offset order
    uint64_t start = 0, end = 0;
  };
  // The range reads, longest first.
  std::vector<Run> Runs() const;

  struct Wanted {
    BlobLocation loc;
    std::vector<BlobTarget> targets;
  };
  // pack -> offset -> blob (std::map keeps pack order and offset order)
  std::map<Id, std::multimap<uint64_t, size_t>> by_pack_;
  std::vector<Wanted> blobs_;
  std::map<std::pair<Id, uint64_t>, size_t> index_;  // (pack, offset) -> blobs_ slot
};

}  // namespace cairn
