// Trees of a snapshot loaded ahead of a walk, on a thread of their own, and (for backup) the
// packs of their files' blobs looked up.
//
// Backup walks its parent snapshot's trees and restore walks the restored snapshot's, one tree
// per folder: read from a pack, authenticated, decompressed and decoded. On the walking thread
// that was about a tenth of a rollback's critical path (two walks of 100 folders) while the
// second core had room. TreeAhead loads the trees below a root depth-first, children in name
// order: the order in which every walk of the project descends (each visits a folder's
// subfolders in name order, each completely before the next). The walk takes each tree from it
// (Take) instead of loading it, and loads itself whatever is not there: a tree not reached yet,
// one that failed to load (the walk meets the error and reports it), or one left behind.
//
// Backup takes a parent's file over unread only once every blob in it is known to be stored,
// and notes the pack holding it for the commit (docs/FORMAT.md "Write ordering", rule 9). With
// `look_up_data`, each tree comes with those lookups done (one batched index lookup per tree):
// the pack of every data blob of its files, or nullopt where the blob is not stored. An answer
// is the index's at the time of the lookup, exactly what the walk's own lookup a moment later
// would have been. One lookup per blob on the walking thread was a third of its time in the
// snapshot taken before a rollback (10,000 files).
//
// Because both go in the same order, a tree loaded before the one being taken is one the walk
// has passed (a folder that is gone from the live tree, a subtree not selected): it is dropped
// then, so such trees never fill the room left for those still to come. Memory: at most
// kMaxWaitingNodes nodes (or one tree, if bigger) wait.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "repo/repository.h"

namespace cairn {

class TreeAhead {
 public:
  struct Loaded {
    std::shared_ptr<const Tree> tree;
    // With look_up_data: for each file node in order, the pack of each blob of its content in
    // order (nullopt: not stored). Empty otherwise, or when the lookup failed.
    std::vector<std::optional<Id>> data_packs;
  };

  // Starts loading the trees below `root` (already loaded by the caller: its subtrees are
  // handed over, not itself).
  TreeAhead(Repository* repo, Tree root, bool look_up_data);
  // Loads the root `root_id` too, and hands it over like the others.
  TreeAhead(Repository* repo, const Id& root_id);
  ~TreeAhead();  // stops and joins
  TreeAhead(const TreeAhead&) = delete;
  TreeAhead& operator=(const TreeAhead&) = delete;

  // Tree `id` if it was loaded and is waiting (handed over once); tree null otherwise.
  Loaded Take(const Id& id);

  // Loads tree `id`: from `ahead` (if not null) when it has it, else from the repository.
  static Result<Loaded> Load(Repository* repo, TreeAhead* ahead, const Id& id);

  static constexpr size_t kMaxWaitingNodes = 1 << 16;

 private:
  struct Waiting {
    Loaded loaded;
    uint64_t seq = 0;  // load order
  };

  // Waits for room, then makes `tree` (with its lookups) available to Take; false once stopped.
  bool Publish(const Id& id, std::shared_ptr<const Tree> tree);
  bool Walk(const Tree& tree);  // false: stop

  Repository* repo_;
  const bool look_up_data_;
  mutable std::mutex mu_;
  std::condition_variable room_;
  bool stop_ = false;                                      // GUARDED_BY(mu_)
  uint64_t next_seq_ = 0;                                  // GUARDED_BY(mu_)
  size_t waiting_nodes_ = 0;                               // GUARDED_BY(mu_)
  std::unordered_map<Id, Waiting> waiting_;                // GUARDED_BY(mu_)
  std::map<uint64_t, Id> by_seq_;                          // GUARDED_BY(mu_)
  std::thread thread_;                                     // last: started once the rest exists
};

}  // namespace cairn
