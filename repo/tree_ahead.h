// Trees of a snapshot loaded ahead of a walk, on a thread of their own.
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
// Because both go in the same order, a tree loaded before the one being taken is one the walk
// has passed (a folder that is gone from the live tree, a subtree not selected): it is dropped
// then, so such trees never fill the room left for those still to come. Memory: at most
// kMaxWaitingNodes nodes (or one tree, if bigger) wait.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "repo/repository.h"

namespace cairn {

class TreeAhead {
 public:
  // Called on the loading thread for every tree loaded (the root included), before its
  // subfolders are loaded; returns false to stop loading.
  using OnTree = std::function<bool(const Tree&)>;

  // Starts loading the trees below `root` (already loaded by the caller; its subtrees are
  // loaded, and handed over by Take).
  TreeAhead(Repository* repo, Tree root, OnTree on_tree = nullptr);
  // Loads the root `root_id` too, and hands it over like the others.
  TreeAhead(Repository* repo, const Id& root_id);
  ~TreeAhead();  // stops and joins
  TreeAhead(const TreeAhead&) = delete;
  TreeAhead& operator=(const TreeAhead&) = delete;

  // Tree `id` if it was loaded and is waiting (handed over once); null otherwise.
  std::shared_ptr<const Tree> Take(const Id& id);

  // Loads tree `id`: from `ahead` (if not null) when it has it, else from the repository.
  static Result<std::shared_ptr<const Tree>> Load(Repository* repo, TreeAhead* ahead, const Id& id);

  // True once asked to stop (the destructor): an OnTree that waits should give up.
  bool stopping() const;

  static constexpr size_t kMaxWaitingNodes = 1 << 16;

 private:
  struct Waiting {
    std::shared_ptr<const Tree> tree;
    uint64_t seq = 0;  // load order
  };

  void Run(Tree root);
  // Waits for room, then makes `tree` available to Take; false once stopped.
  bool Publish(const Id& id, std::shared_ptr<const Tree> tree);
  bool Walk(const Tree& tree);  // false: stop

  Repository* repo_;
  OnTree on_tree_;
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
