#include "repo/inplace.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "common/bytes.h"
#include "store/crypto.h"

namespace cairn {

namespace {
constexpr std::string_view kTempPrefix = ".cairn-tmp-";
constexpr size_t kTempHexDigits = 16;

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace

std::string NewRestoreTempName() {
  return std::string(kTempPrefix) + ToHex(RandomBytes(kTempHexDigits / 2));
}

bool IsRestoreTempName(std::string_view name) {
  if (name.size() != kTempPrefix.size() + kTempHexDigits || name.substr(0, kTempPrefix.size()) != kTempPrefix)
    return false;
  for (char c : name.substr(kTempPrefix.size()))
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

Result<std::vector<std::string>> ListNames(int dirfd) {
  int fd = dup(dirfd);
  if (fd < 0) return Status::FromErrno(errno, "dup");
  DIR* dir = fdopendir(fd);
  if (!dir) {
    close(fd);
    return Status::FromErrno(errno, "open directory");
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
    errno = 0;
  }
  int err = errno;
  closedir(dir);
  if (err) return Status::FromErrno(err, "read directory");
  std::sort(names.begin(), names.end());  // bytewise, as tree nodes are sorted
  return names;
}

Result<std::map<std::string, struct stat>> ListLiveDir(int dirfd) {
  // fdopendir takes ownership of its descriptor: give it a duplicate.
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open folder");
  DIR* d = fdopendir(fd);
  if (!d) {
    Status s = Status::FromErrno(errno, "list folder");
    close(fd);
    return s;
  }
  std::map<std::string, struct stat> out;
  Status status;
  for (;;) {
    errno = 0;
    struct dirent* e = readdir(d);
    if (!e) {
      if (errno != 0) status = Status::FromErrno(errno, "list folder");
      break;
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since listed
      status = Status::FromErrno(errno, "stat " + name);
      break;
    }
    out.emplace(std::move(name), st);
  }
  closedir(d);
  if (!status.ok()) return status;
  return out;
}

namespace {
// The same entry in the same version: device, inode, type, size, mtime and ctime.
bool SameEntry(const struct stat& examined, const struct stat& now) {
  return SameVersion(examined, now) && examined.st_dev == now.st_dev &&
         (examined.st_mode & S_IFMT) == (now.st_mode & S_IFMT);
}

// True if no entry below the open folder `fd` has a ctime at or after `limit_ns`.
Result<bool> SubtreeOlderThan(int fd, int64_t limit_ns) {
  ASSIGN_OR_RETURN(auto children, ListLiveDir(fd));
  for (const auto& [name, st] : children) {
    if (ChangedSince(st.st_ctim, limit_ns)) return false;
    if (!S_ISDIR(st.st_mode)) continue;
    int sub = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return Status::FromErrno(errno, "open folder " + name + " (not following links)");
    Result<bool> older = SubtreeOlderThan(sub, limit_ns);
    close(sub);
    if (!older.ok() || !*older) return older;
  }
  return true;
}
}  // namespace

bool ChangedSince(const struct timespec& ctime, int64_t since_ns) {
  if (ctime.tv_nsec == 0) return Ns(ctime) >= since_ns - kCoarseTimestampNs;
  return Ns(ctime) >= since_ns;
}

Status RenameIntoPlace(int dirfd, const std::string& tmp, const std::string& name, bool must_not_exist) {
  if (!must_not_exist) {
    if (renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) return Status::FromErrno(errno, "rename into place");
    return Status::OK();
  }
  Status appeared = Status::IOError("appeared since the restore examined its folder: left as it is; run the "
                                    "restore again");
  if (renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), RENAME_NOREPLACE) == 0) return Status::OK();
  if (errno == EEXIST) return appeared;
  if (errno != EINVAL && errno != ENOSYS) return Status::FromErrno(errno, "rename into place");
  // A file system without RENAME_NOREPLACE: check, then rename (a window of one system call).
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return appeared;
  if (renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) return Status::FromErrno(errno, "rename into place");
  return Status::OK();
}

namespace {
// Regular file `name` opened with `flags` (never following a symlink), if it is still the inode
// `expected` describes: it may have been replaced since it was listed.
Result<int> OpenExpected(int dirfd, const std::string& name, int flags, const struct stat& expected) {
  int fd = openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + name + " (not following links)");
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_ino != expected.st_ino ||
      st.st_dev != expected.st_dev) {
    close(fd);
    return Status::IOError(name + " was replaced while the restore ran");
  }
  return fd;
}

// The file `name` held across its unlink, or -1 (then it is unlinked and freed the plain way).
// O_PATH pins the inode without opening the file itself: no permission check, no device or
// scanner hook on a name swapped meanwhile.
int HoldForUnlink(int dirfd, const std::string& name, const struct stat& expected) {
  Result<int> fd = OpenExpected(dirfd, name, O_PATH, expected);
  return fd.ok() ? *fd : -1;
}
}  // namespace

Status RemoveLiveEntry(int dirfd, const std::string& name, bool dry_run, LiveCount* count,
                       const struct stat* expected, int64_t older_than_ns, CloseBehind* closer) {
  struct stat st;
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::OK();
    return Status::FromErrno(errno, "stat " + name);
  }
  if (expected && !SameEntry(*expected, st)) return NotAsExamined();
  if (S_ISDIR(st.st_mode)) {
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open folder " + name + " (not following links)");
    if (older_than_ns != 0 && !dry_run) {
      Result<bool> older = SubtreeOlderThan(fd, older_than_ns);
      if (!older.ok() || !*older) {
        close(fd);
        if (!older.ok()) return older.status();
        return Status::IOError("something in it changed since the restore examined it: not removed; run the "
                               "restore again");
      }
    }
    Result<std::map<std::string, struct stat>> children = ListLiveDir(fd);
    Status s = children.status();
    if (s.ok())
      for (const auto& child : *children) {
        // No closer below: on NFS, SMB and FUSE a file unlinked while open lives on as a hidden
        // file in its folder until the close, and the folder's own removal would fail.
        s = RemoveLiveEntry(fd, child.first, dry_run, count).WithContext(name);
        if (!s.ok()) break;
      }
    close(fd);
    RETURN_IF_ERROR(s);
    if (!dry_run && unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0)
      return Status::FromErrno(errno, "remove folder " + name);
  } else {
    if (!dry_run) {
      // A file with other names is not freed by this unlink: nothing to hold.
      bool frees = S_ISREG(st.st_mode) && st.st_size > 0 && st.st_nlink == 1;
      int held = closer && frees ? HoldForUnlink(dirfd, name, st) : -1;
      if (unlinkat(dirfd, name.c_str(), 0) != 0) {
        Status failed = Status::FromErrno(errno, "remove " + name);
        if (held >= 0) close(held);
        return failed;
      }
      if (held >= 0) closer->Close(held);
    }
    if (S_ISREG(st.st_mode)) count->bytes += static_cast<uint64_t>(st.st_size);
  }
  ++count->entries;
  return Status::OK();
}

bool MetadataMatches(const struct stat& st, const Node& node, bool owner) {
  if (owner && (st.st_uid != node.uid || st.st_gid != node.gid)) return false;
  // Symlink permission bits are meaningless on Linux and cannot be set.
  if (!S_ISLNK(st.st_mode) && (st.st_mode & 07777) != node.mode) return false;
  return Ns(st.st_mtim) == node.mtime_ns;
}

Result<int> OpenLiveFile(int dirfd, const std::string& name, const struct stat& expected) {
  // O_NONBLOCK: should the entry have become a FIFO, opening it must not hang.
  ASSIGN_OR_RETURN(int fd, OpenExpected(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOCTTY, expected));
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

bool SameVersion(const struct stat& before, const struct stat& now) {
  return before.st_ino == now.st_ino && before.st_size == now.st_size &&
         Ns(before.st_mtim) == Ns(now.st_mtim) && Ns(before.st_ctim) == Ns(now.st_ctim);
}

void KnownLiveTree::AddFile(const Node& node) {
  if (node.type != NodeType::kFile || (node.flags & kNodeChangedDuringRead) || node.inode == 0) return;
  std::lock_guard<std::mutex> l(mu_);
  files_[Key{node.device, node.inode}] = Version{node.size, node.mtime_ns, node.ctime_ns, node.content};
}

const std::vector<Id>* KnownLiveTree::FindFile(const struct stat& st) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(Key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)});
  if (it == files_.end()) return nullptr;
  const Version& v = it->second;
  if (v.size != static_cast<uint64_t>(st.st_size) || v.mtime_ns != Ns(st.st_mtim) || v.ctime_ns != Ns(st.st_ctim))
    return nullptr;
  return &v.content;
}

KnownLiveTree::KnownLiveTree() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  created_ns_ = Ns(now);
}

void KnownLiveTree::AddListing(const struct stat& dir, int64_t listed_at_ns, Listing entries) {
  // A change in the clock tick the folder was listed in (or, with whole-second times, the same
  // second) may leave its times as they were.
  if (ChangedSince(dir.st_mtim, listed_at_ns) || ChangedSince(dir.st_ctim, listed_at_ns)) return;
  std::lock_guard<std::mutex> l(mu_);
  dirs_[Key{static_cast<uint64_t>(dir.st_dev), static_cast<uint64_t>(dir.st_ino)}] =
      DirVersion{Ns(dir.st_mtim), Ns(dir.st_ctim), std::move(entries)};
}

std::optional<KnownLiveTree::Listing> KnownLiveTree::TakeListing(const struct stat& dir) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = dirs_.find(Key{static_cast<uint64_t>(dir.st_dev), static_cast<uint64_t>(dir.st_ino)});
  if (it == dirs_.end()) return std::nullopt;
  std::optional<Listing> out;
  if (it->second.mtime_ns == Ns(dir.st_mtim) && it->second.ctime_ns == Ns(dir.st_ctim))
    out = std::move(it->second.entries);
  dirs_.erase(it);
  return out;
}

size_t KnownLiveTree::files() const {
  std::lock_guard<std::mutex> l(mu_);
  return files_.size();
}

size_t KnownLiveTree::listings() const {
  std::lock_guard<std::mutex> l(mu_);
  return dirs_.size();
}

Status NotAsExamined() {
  return Status::IOError("changed since the restore examined it: left as it is; run the restore again");
}

Status StillAsListed(int dirfd, const std::string& name, const struct stat& listed) {
  struct stat now;
  if (fstatat(dirfd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return NotAsExamined();
    return Status::FromErrno(errno, "stat " + name);
  }
  return SameEntry(listed, now) ? Status::OK() : NotAsExamined();
}

}  // namespace cairn
