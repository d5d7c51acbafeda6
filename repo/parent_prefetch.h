// Index lookups for the files an incremental backup takes over from its parent, done ahead on
// a thread of their own.
//
// A file unchanged since the parent snapshot is taken over only once every blob in it is known
// to be stored, and the pack holding it is noted for the commit (docs/FORMAT.md "Write
// ordering", rule 9). Those lookups were a third of the walking thread's time in the snapshot
// taken before a rollback (10,000 files, one RocksDB lookup each), while the second core idled.
// This walks the parent's trees depth-first (TreeAhead, which also hands the loaded trees to the
// walk), in the order backup walks the live tree, and looks the blobs up meanwhile; the walk then
// finds most answers waiting. An answer is the index's at the time of the lookup, exactly what
// the walk's own lookup a moment later would have been.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "repo/repository.h"
#include "repo/tree_ahead.h"

namespace cairn {

class ParentBlobPrefetch {
 public:
  // Starts looking up the data blobs of every file below `root` (the parent snapshot's root).
  ParentBlobPrefetch(Repository* repo, Tree root);
  ~ParentBlobPrefetch();  // stops and joins
  ParentBlobPrefetch(const ParentBlobPrefetch&) = delete;
  ParentBlobPrefetch& operator=(const ParentBlobPrefetch&) = delete;

  // The pack holding `id` if the prefetch found it stored (the answer is handed over once);
  // nullopt if it was not looked up yet or is not stored: the caller looks it up itself.
  std::optional<Id> TakePack(const Id& id);

  // The parent's trees, loaded ahead (TreeAhead::Load).
  TreeAhead* trees() { return &*trees_; }

 private:
  // Answers not taken yet are capped, so a walk that falls far behind (or a parent with files
  // that all changed) does not make the prefetch hold the whole parent in memory.
  static constexpr size_t kMaxWaiting = 1 << 16;

  // Looks up the blobs of a tree's files; false once stopped.
  bool LookUp(const Tree& tree);

  Repository* repo_;
  std::mutex mu_;
  std::condition_variable room_;
  bool stop_ = false;                 // GUARDED_BY(mu_)
  std::unordered_map<Id, Id> found_;  // GUARDED_BY(mu_): blob -> pack
  std::optional<TreeAhead> trees_;    // last: its thread runs LookUp, so it is joined first
};

}  // namespace cairn
