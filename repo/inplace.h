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
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "repo/local_chunks.h"
#include "repo/tree.h"

namespace cairn {

// The temporary names restore writes under before renaming into place: ".cairn-tmp-" and 16
// hex digits. Leftovers of a killed restore are recognised by this pattern and removed.
std::string NewRestoreTempName();
bool IsRestoreTempName(std::string_view name);

// The entries of the open folder `dirfd` (without "." and ".."), each with its lstat.
Result<std::map<std::string, struct stat>> ListLiveDir(int dirfd);

// Entries and regular-file bytes an entry holds (itself and, for a folder, all below it).
struct LiveCount {
  uint64_t entries = 0, bytes = 0;
};

// Removes entry `name` of `dirfd`, a whole folder tree included, without following symlinks.
// With `dry_run`, only counts. `count` accumulates what was (or would be) removed.
Status RemoveLiveEntry(int dirfd, const std::string& name, bool dry_run, LiveCount* count);

// True if a live entry's permission bits, mtime and (with `owner`) uid/gid equal the node's.
bool MetadataMatches(const struct stat& st, const Node& node, bool owner);

// Opens regular file `name` of `dirfd` for reading without following a symlink, and checks it
// is still the inode `expected` describes (it may have been replaced since it was listed).
Result<int> OpenLiveFile(int dirfd, const std::string& name, const struct stat& expected);

// True if stat `now` shows the same content version as `before` (size, mtime, ctime).
bool SameVersion(const struct stat& before, const struct stat& now);

// What a backup learned of the live files it read or took over: each file's content ids by
// device and inode, with the size, mtime and ctime they belong to. A rollback's pre-rollback
// snapshot fills it and the in-place restore after it reads it, so a changed file is chunked and
// hashed once, not twice. A file found with another size, mtime or ctime is not known: the
// kernel moves ctime on every change and nothing in user space sets it back, so an entry can
// only ever describe the very version it was made from (the same proof backup uses to skip
// unchanged files).
class KnownLiveFiles {
 public:
  // A regular file's node as backup recorded it (stat taken when it was read); nodes flagged
  // changed-during-read are ignored.
  void Add(const Node& node);
  // The content ids of the file `st` describes, if known for exactly this version.
  const std::vector<Id>* Find(const struct stat& st) const;
  size_t size() const;

 private:
  struct Version {
    uint64_t size = 0;
    int64_t mtime_ns = 0, ctime_ns = 0;
    std::vector<Id> content;
  };
  struct Key {
    uint64_t device = 0, inode = 0;
    bool operator==(const Key& o) const { return device == o.device && inode == o.inode; }
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.inode * 1000003 ^ k.device); }
  };
  mutable std::mutex mu_;
  std::unordered_map<Key, Version, KeyHash> files_;  // GUARDED_BY(mu_)
};

}  // namespace cairn
