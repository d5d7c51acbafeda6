// A backed-up folder tree listed ahead of the backup's walk, on a thread of its own.
//
// Backup's walk lists each folder and `lstat`s every entry before it decides anything; in the
// snapshot taken before a rollback (10,000 mostly unchanged files) those calls were about a
// third of the walking thread's time, the critical path, while the second core had room.
// ListingAhead lists the folders first: depth-first, names sorted, each folder completely before
// its subfolders are entered, which is the walk's order. It descends only where the walk will
// (the same Selection: excluded folders, exclude markers, other file systems), and never
// follows a symlink (openat with O_NOFOLLOW, entries examined with AT_SYMLINK_NOFOLLOW).
//
// A listing is what the walk would have made itself: the folder's fstat taken before it was
// read (with a CLOCK_REALTIME_COARSE reading before that), its names, and each entry's lstat.
// The walk uses it only while it is current (Archiver's StillAsListedAhead: the same folder,
// times unmoved and older than the listing, at most a second old) and otherwise lists the
// folder itself, as it does for a folder the lister could not read completely (such a folder is
// not handed over: the walk meets the error itself and reports it as before).
//
// Memory: at most kMaxWaitingEntries entries wait; at a folder with more, the lister stops and
// the walk lists that folder and everything after it itself. Listings of
// folders the walk has passed (it skipped them, or the tree changed) are dropped when it asks
// for a later one.
#pragma once

#include <sys/stat.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "repo/exclude.h"

namespace cairn {

class ListingAhead {
 public:
  struct Entry {
    std::string name;
    struct stat st;  // lstat
  };
  struct Listing {
    struct stat dir;           // the folder's fstat, taken before it was read
    int64_t listed_at_ns = 0;  // CLOCK_REALTIME_COARSE, read before that fstat
    std::vector<Entry> entries;  // sorted by name
  };

  // Starts listing the folder at absolute path `root` and everything below it that `selection`
  // (REQUIRES: outlives this) lets a backup of `root`, on device `root_dev`, descend into.
  ListingAhead(std::string root, const Selection* selection, dev_t root_dev);
  ~ListingAhead();  // stops and joins
  ListingAhead(const ListingAhead&) = delete;
  ListingAhead& operator=(const ListingAhead&) = delete;

  // The listing of folder `path` (`root` or a path below it, as the walk spells it), handed
  // over once. Waits while the lister may still list it; null if it will not (not reached in
  // time to matter, unreadable, or not a folder the lister descended into).
  std::unique_ptr<Listing> Take(const std::string& path);

  // True if folder `a` comes before folder `b` in the walk's order (depth-first, names sorted):
  // compared name by name, a folder before everything below it.
  static bool WalkOrderLess(const std::string& a, const std::string& b);

  static constexpr size_t kMaxWaitingEntries = 1 << 16;
  static constexpr int kMaxDepth = 64;  // folders deeper than this below `root` are not listed ahead

 private:
  struct WalkOrder {
    bool operator()(const std::string& a, const std::string& b) const { return WalkOrderLess(a, b); }
  };

  void Run();
  // Lists the folder open at `fd` (owned), known by `path`, then its subfolders; false: stop
  // listing altogether (stopped, or a folder too big to list ahead).
  bool List(int fd, const std::string& path, int depth);
  bool Publish(const std::string& path, std::unique_ptr<Listing> listing);  // false: stopped
  void Started(const std::string& path);

  const std::string root_;
  const Selection* selection_;
  const dev_t root_dev_;
  std::mutex mu_;
  std::condition_variable changed_;  // a listing published, room made, started, done or stopping
  bool stop_ = false;                // GUARDED_BY(mu_)
  bool done_ = false;                // GUARDED_BY(mu_)
  std::string position_;             // GUARDED_BY(mu_): the folder being listed (or last listed)
  size_t waiting_entries_ = 0;       // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Listing>, WalkOrder> waiting_;  // GUARDED_BY(mu_)
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace cairn
