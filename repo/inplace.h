// Live-tree helpers for in-place restore (`cairn restore --in-place`): listing a folder of the
// target, removing entries, and comparing a live file with a snapshot node.
//
// Every function works relative to an open directory descriptor and never follows a symlink
// that exists in the live tree: entries are examined with fstatat(AT_SYMLINK_NOFOLLOW), opened
// with O_NOFOLLOW, and a folder is only entered through openat(O_DIRECTORY | O_NOFOLLOW). So a
// live `conf -> /etc` is treated as a symlink named conf, never as /etc.
#pragma once

#include <sys/stat.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "common/close_behind.h"
#include "common/status.h"
#include "repo/local_chunks.h"
#include "repo/tree.h"

namespace cairn {

// The temporary names restore writes under before renaming into place: ".cairn-tmp-" and 16
// hex digits. Leftovers of a killed restore are recognised by this pattern and removed.
std::string NewRestoreTempName();
bool IsRestoreTempName(std::string_view name);

// The names in the open folder `dirfd` (without "." and ".."), sorted bytewise as tree nodes
// are.
Result<std::vector<std::string>> ListNames(int dirfd);

// The entries of the open folder `dirfd` (without "." and ".."), each with its lstat.
Result<std::map<std::string, struct stat>> ListLiveDir(int dirfd);

// Entries and regular-file bytes an entry holds (itself and, for a folder, all below it).
struct LiveCount {
  uint64_t entries = 0, bytes = 0;
};

// Removes entry `name` of `dirfd`, a whole folder tree included, without following symlinks.
// With `dry_run`, only counts. `count` accumulates what was (or would be) removed. With
// `expected` (the entry as the restore examined it), an entry that is no longer that version is
// not removed (an IOError). With `older_than_ns`, a folder is removed only if nothing in it has
// a ctime at or after that time (checked before anything is removed): in a rollback, nothing
// changed since the pre-rollback snapshot began. With `closer`, a file `name` with data is held
// across its unlink and handed to it, which frees it off the caller's thread (not the files of a
// folder removed: see RemoveLiveEntry).
Status RemoveLiveEntry(int dirfd, const std::string& name, bool dry_run, LiveCount* count,
                       const struct stat* expected = nullptr, int64_t older_than_ns = 0,
                       CloseBehind* closer = nullptr);

// Whole-second times (ext3, ext4 with small inodes, vfat) are truncated, so a change within
// this much after a moment can carry an earlier stamp.
inline constexpr int64_t kCoarseTimestampNs = 2'000'000'000;

// True if a ctime of `ctime` may be from a change at or after `since_ns` (realtime).
bool ChangedSince(const struct timespec& ctime, int64_t since_ns);

// Renames `tmp` over `name` in `dirfd`. With `must_not_exist` (the restore saw no entry of this
// name), an entry that has appeared since is left alone: an IOError, and `tmp` stays for the
// caller to remove.
Status RenameIntoPlace(int dirfd, const std::string& tmp, const std::string& name, bool must_not_exist);

// True if a live entry's permission bits, mtime and (with `owner`) uid/gid equal the node's.
bool MetadataMatches(const struct stat& st, const Node& node, bool owner);

// Opens regular file `name` of `dirfd` for reading without following a symlink, and checks it
// is still the inode `expected` describes (it may have been replaced since it was listed).
Result<int> OpenLiveFile(int dirfd, const std::string& name, const struct stat& expected);

// True if stat `now` shows the same content version as `before` (size, mtime, ctime).
bool SameVersion(const struct stat& before, const struct stat& now);

// What a backup saw of the live tree it walked, kept for the in-place restore that follows it
// (a rollback's pre-rollback snapshot, then the restore), so the tree is walked once, not twice:
// - each regular file's content ids, by device and inode, with the size, mtime and ctime they
//   belong to: a changed file is chunked and hashed once;
// - each folder's listing with every entry's lstat: the restore compares against it instead of
//   listing and stat-ing the folder again.
// Neither is trusted beyond the version it was made from. The kernel moves ctime on every change
// and nothing in user space sets it back, so a file with the same size, mtime and ctime is the
// version that was read (the same proof backup uses to skip unchanged files), and a folder with
// the same mtime and ctime holds the same names. A listing is kept only if the folder's times
// are older than the moment it was listed (a change within the same clock tick would not move
// them). An entry changed in place after it was listed is not seen in the listing: the restore
// checks each entry again just before it replaces or removes it (StillAsListed).
// Memory: one struct stat (144 bytes) and name per entry of the tree, until the restore takes it.
class KnownLiveTree {
 public:
  using Listing = std::map<std::string, struct stat>;

  KnownLiveTree();

  // A regular file's node as backup recorded it (stat taken when it was read); nodes flagged
  // changed-during-read are ignored.
  void AddFile(const Node& node);
  // The content ids of the file `st` describes, if known for exactly this version.
  const std::vector<Id>* FindFile(const struct stat& st) const;

  // The complete listing of a folder: `dir` is the folder's fstat taken before it was read, at
  // realtime `listed_at_ns` or later (CLOCK_REALTIME_COARSE read before that fstat).
  void AddListing(const struct stat& dir, int64_t listed_at_ns, Listing entries);
  // Before the backup that fills it began (CLOCK_REALTIME_COARSE when constructed): an entry
  // whose ctime is older has not changed since the backup saw it (ChangedSince).
  int64_t unchanged_before_ns() const { return created_ns_; }
  // The listing of the folder `dir` (its fstat now), if one was recorded and the folder has not
  // changed since; handed over once (a restore visits each folder once).
  std::optional<Listing> TakeListing(const struct stat& dir);

  size_t files() const;
  size_t listings() const;

 private:
  struct Version {
    uint64_t size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    std::vector<Id> content;
  };
  struct DirVersion {
    int64_t mtime_ns = 0, ctime_ns = 0;
    Listing entries;
  };
  struct Key {
    uint64_t device = 0, inode = 0;
    bool operator==(const Key& o) const { return device == o.device && inode == o.inode; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.inode * 1000003 ^ k.device); }
  };
  int64_t created_ns_ = 0;
  mutable std::mutex mu_;
  std::unordered_map<Key, Version, KeyHash> files_;     // GUARDED_BY(mu_)
  std::unordered_map<Key, DirVersion, KeyHash> dirs_;   // GUARDED_BY(mu_)
};

// OK if entry `name` of `dirfd` is still the version `listed` describes (same device, inode,
// type, size, mtime and ctime), checked with lstat just before the restore replaces or removes
// it; else NotAsExamined() (changed or vanished since it was examined) or the lstat's error.
Status StillAsListed(int dirfd, const std::string& name, const struct stat& listed);

// The error for an entry that is no longer the version the restore examined: left as it is.
Status NotAsExamined();

}  // namespace cairn
