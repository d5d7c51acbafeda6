#include "repo/live_diff.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <memory>

#include "common/task_group.h"
#include "repo/inplace.h"
#include "repo/local_chunks.h"

namespace cairn {

namespace {

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The fields backup records for a live entry, as far as they can be compared. User and group
// names are left out: they follow from uid and gid on this machine.
bool SameMetadata(const Node& snap, const Node& live) {
  return snap.mode == live.mode && snap.uid == live.uid && snap.gid == live.gid &&
         snap.mtime_ns == live.mtime_ns;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_;
};

// The outcome of hashing one live file on a worker. Written by the worker, read by the walker
// after TaskGroup::Wait (which orders the two).
struct ContentCheck {
  std::vector<Id> expected;
  bool same = false;
  uint64_t bytes = 0;
  Status error;
};

// A difference (or a file whose verdict waits for its content check), kept until every check
// before it is done so differences come out in path order.
struct Record {
  Change change;
  std::string path;
  std::optional<Node> before, after;
  std::unique_ptr<ContentCheck> check;
};

class LiveDiffer {
 public:
  LiveDiffer(Repository* repo, const LiveDiffOptions& options, const DiffCallback& fn,
             Reporter* reporter)
      : repo_(repo),
        options_(options),
        fn_(fn),
        reporter_(reporter),
        threads_(options.threads > 0 ? options.threads : DefaultThreads()),
        pool_(threads_, 2 * threads_) {}

  // Compares the nodes of `before` with the entries of the open live directory.
  Status CompareDir(const Tree& before, int dirfd, const std::string& prefix) {
    Result<std::vector<std::string>> names = ListNames(dirfd);
    if (!names.ok()) return Unreadable(prefix.empty() ? "." : prefix, names.status());
    size_t i = 0, j = 0;
    while (i < before.nodes.size() || j < names->size()) {
      const Node* x = i < before.nodes.size() ? &before.nodes[i] : nullptr;
      const std::string* y = j < names->size() ? &(*names)[j] : nullptr;
      if (x && (!y || x->name < *y)) {
        RETURN_IF_ERROR(CompareOne(x, dirfd, "", Join(prefix, x->name)));
        ++i;
      } else if (y && (!x || *y < x->name)) {
        RETURN_IF_ERROR(CompareOne(nullptr, dirfd, *y, Join(prefix, *y)));
        ++j;
      } else {
        RETURN_IF_ERROR(CompareOne(x, dirfd, *y, Join(prefix, *y)));
        ++i, ++j;
      }
    }
    return Status::OK();
  }

  // Snapshot node `x` (null: none) against the live entry `name` of dirfd (empty: none).
  Status CompareOne(const Node* x, int dirfd, const std::string& name, const std::string& path) {
    std::optional<Node> live;
    bool walk_live = true;  // false for a directory on another file system (--one-file-system)
    if (!name.empty()) {
      struct stat st;
      if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) return Unreadable(path, Status::FromErrno(errno, "stat"));
      } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
        if (reporter_) reporter_->Notice(path, "not a file, directory or symlink: not compared");
      } else if (Excluded(path, dirfd, name, st, &walk_live)) {
        // Left out as a backup with this selection would: absent.
      } else {
        live = LiveNode(name, st);
        if (live->type == NodeType::kSymlink) {
          std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
          ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
          if (n < 0) return Unreadable(path, Status::FromErrno(errno, "readlink"));
          target.resize(static_cast<size_t>(n));
          live->link_target = std::move(target);
        }
      }
    }
    if (!x && !live) return Status::OK();
    if (!x) return Added(*live, dirfd, path, walk_live);
    if (!live) return Removed(*x, path);
    if (x->type != live->type) {
      Add(Record{Change::kType, path, *x, *live, nullptr});
      if (x->type == NodeType::kDir) RETURN_IF_ERROR(RemovedChildren(*x, path));
      if (live->type == NodeType::kDir && walk_live) RETURN_IF_ERROR(AddedChildren(dirfd, name, path));
      return Status::OK();
    }
    switch (x->type) {
      case NodeType::kSymlink:
        if (x->link_target != live->link_target) Add(Record{Change::kContent, path, *x, *live, nullptr});
        else if (!SameMetadata(*x, *live)) Add(Record{Change::kMetadata, path, *x, *live, nullptr});
        return Status::OK();
      case NodeType::kDir: {
        if (!SameMetadata(*x, *live)) Add(Record{Change::kMetadata, path, *x, *live, nullptr});
        if (!walk_live) return Status::OK();  // stored empty by such a backup: so is it here
        int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) return Unreadable(path, Status::FromErrno(errno, "open directory"));
        FdCloser closer(fd);
        ASSIGN_OR_RETURN(Tree tree, repo_->LoadTree(x->subtree));
        return CompareDir(tree, fd, path);
      }
      case NodeType::kFile: return CompareFile(*x, *live, dirfd, name, path);
    }
    return Status::OK();
  }

  // Everything submitted is checked and every difference passed to fn.
  Status Finish() {
    RETURN_IF_ERROR(Flush());
    return Status::OK();
  }

  // The device of the compared live root, for --one-file-system.
  void set_root_dev(dev_t dev) { root_dev_ = dev; }

  LiveDiffResult result;

 private:
  // Checks of more files than this wait in memory before the walk pauses to emit them.
  static constexpr size_t kMaxPendingChecks = 4096;

  static std::string Join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "/" + name;
  }

  static Node LiveNode(const std::string& name, const struct stat& st) {
    Node n;
    n.name = name;
    n.type = S_ISDIR(st.st_mode) ? NodeType::kDir : S_ISLNK(st.st_mode) ? NodeType::kSymlink : NodeType::kFile;
    n.mode = st.st_mode & 07777;
    n.uid = st.st_uid;
    n.gid = st.st_gid;
    n.mtime_ns = ToNs(st.st_mtim);
    n.ctime_ns = ToNs(st.st_ctim);
    n.inode = st.st_ino;
    n.device = st.st_dev;
    n.size = n.type == NodeType::kFile ? static_cast<uint64_t>(st.st_size) : 0;
    return n;
  }

  // Applies options_.selection to the live entry `name` at snapshot path `path`. Clears
  // *walk_live for a directory on another file system.
  bool Excluded(const std::string& path, int dirfd, const std::string& name, const struct stat& st,
                bool* walk_live) {
    const Selection* sel = options_.selection;
    if (!sel || sel->empty()) return false;
    std::string full = Join(options_.snapshot_base, path);
    size_t slash = full.find('/');
    if (slash == std::string::npos) return false;  // a backed-up path itself
    Selection::Verdict v = sel->Check(std::string_view(full).substr(slash + 1), st, root_dev_);
    if (v == Selection::Verdict::kExclude) return true;
    if (v == Selection::Verdict::kEmptyDir) {
      *walk_live = false;
      return false;
    }
    if (!S_ISDIR(st.st_mode) || sel->exclude_if_present.empty()) return false;
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return false;  // reported when the walk opens it
    FdCloser closer(fd);
    return sel->HasExcludeMarker(fd);
  }

  Status Unreadable(const std::string& path, const Status& status) {
    ++result.unreadable;
    if (reporter_) reporter_->Problem(path, status);
    return Status::OK();
  }

  Status CompareFile(const Node& x, const Node& live, int dirfd, const std::string& name,
                     const std::string& path) {
    if (x.size != live.size) {
      Add(Record{Change::kContent, path, x, live, nullptr});
      return Status::OK();
    }
    if (options_.quick && x.mtime_ns == live.mtime_ns) {
      if (!SameMetadata(x, live)) Add(Record{Change::kMetadata, path, x, live, nullptr});
      return Status::OK();
    }
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)  // O_NOATIME needs ownership
      fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Unreadable(path, Status::FromErrno(errno, "open"));
    auto check = std::make_unique<ContentCheck>();
    check->expected = x.content;
    ContentCheck* c = check.get();
    const Repository* repo = repo_;
    // The pool's queue is bounded, so at most 3 × threads descriptors are open at once.
    pool_.Submit([repo, fd, c]() -> Status {
      thread_local Bytes scratch;  // the chunker's window, reused across files on this worker
      Result<std::vector<LocalChunk>> chunks = ChunkLocalFile(*repo, fd, &scratch);
      close(fd);
      if (!chunks.ok()) {
        c->error = chunks.status();
        return Status::OK();  // this file's problem, not the diff's
      }
      c->same = chunks->size() == c->expected.size();
      for (size_t k = 0; c->same && k < chunks->size(); ++k) c->same = (*chunks)[k].id == c->expected[k];
      for (const LocalChunk& ch : *chunks) c->bytes += ch.length;
      return Status::OK();
    });
    ++pending_checks_;
    Add(Record{Change::kContent, path, x, live, std::move(check)});
    if (pending_checks_ >= kMaxPendingChecks) return Flush();
    return Status::OK();
  }

  Status Added(const Node& live, int dirfd, const std::string& path, bool walk_live) {
    Add(Record{Change::kAdded, path, std::nullopt, live, nullptr});
    if (live.type == NodeType::kDir && walk_live) return AddedChildren(dirfd, live.name, path);
    return Status::OK();
  }

  Status AddedChildren(int dirfd, const std::string& name, const std::string& path) {
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Unreadable(path, Status::FromErrno(errno, "open directory"));
    FdCloser closer(fd);
    return CompareDir(Tree{}, fd, path);
  }

  Status Removed(const Node& x, const std::string& path) {
    Add(Record{Change::kRemoved, path, x, std::nullopt, nullptr});
    if (x.type == NodeType::kDir) return RemovedChildren(x, path);
    return Status::OK();
  }

  Status RemovedChildren(const Node& dir, const std::string& path) {
    ASSIGN_OR_RETURN(Tree tree, repo_->LoadTree(dir.subtree));
    for (const Node& n : tree.nodes) RETURN_IF_ERROR(Removed(n, Join(path, n.name)));
    return Status::OK();
  }

  void Add(Record r) {
    if (records_.empty() && !r.check) {
      Emit(r);
      return;
    }
    records_.push_back(std::move(r));
  }

  // Waits for the content checks queued so far and emits every record in order.
  Status Flush() {
    RETURN_IF_ERROR(pool_.Wait());
    for (Record& r : records_) {
      if (r.check) {
        const ContentCheck& c = *r.check;
        if (!c.error.ok()) {
          Unreadable(r.path, c.error.WithContext("read")).IgnoreError();
          continue;
        }
        ++result.files_read;
        result.bytes_read += c.bytes;
        if (c.same) {
          if (SameMetadata(*r.before, *r.after)) continue;
          r.change = Change::kMetadata;
        }
      }
      Emit(r);
    }
    records_.clear();
    pending_checks_ = 0;
    return Status::OK();
  }

  void Emit(const Record& r) {
    DiffStats& s = result.diff;
    switch (r.change) {
      case Change::kAdded: ++s.added; break;
      case Change::kRemoved: ++s.removed; break;
      case Change::kContent: ++s.content; break;
      case Change::kMetadata: ++s.metadata; break;
      case Change::kType: ++s.type; break;
    }
    fn_(DiffEntry{r.change, r.path, r.before ? &*r.before : nullptr, r.after ? &*r.after : nullptr});
  }

  Repository* repo_;
  LiveDiffOptions options_;
  const DiffCallback& fn_;
  Reporter* reporter_;
  int threads_;
  std::deque<Record> records_;
  size_t pending_checks_ = 0;
  dev_t root_dev_ = 0;
  TaskGroup pool_;  // last: joined first, while what its tasks touch is still alive
};

std::string AbsolutePath(const std::string& p) {
  std::string s = std::filesystem::absolute(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

Result<LiveDiffResult> DiffLive(Repository* repo, const Id& tree, const std::string& dir,
                                const LiveDiffOptions& options, const DiffCallback& fn,
                                Reporter* reporter) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, dir);
  FdCloser closer(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::FromErrno(errno, dir);
  ASSIGN_OR_RETURN(Tree before, repo->LoadTree(tree));
  LiveDiffer d(repo, options, fn, reporter);
  d.set_root_dev(st.st_dev);
  RETURN_IF_ERROR(d.CompareDir(before, fd, ""));
  RETURN_IF_ERROR(d.Finish());
  return d.result;
}

Result<LiveDiffResult> DiffLiveEntry(Repository* repo, const Node& node, const std::string& path,
                                     const LiveDiffOptions& options, const DiffCallback& fn,
                                     Reporter* reporter) {
  std::filesystem::path abs(AbsolutePath(path));
  std::string name = abs.filename().string();
  if (name.empty()) return Status::InvalidArgument("cannot compare '/' as one entry");
  std::string parent = abs.parent_path().string();
  int fd = open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, parent);
  FdCloser closer(fd);
  struct stat st;
  if (fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return Status::FromErrno(errno, abs.string());
  LiveDiffer d(repo, options, fn, reporter);
  d.set_root_dev(st.st_dev);
  RETURN_IF_ERROR(d.CompareOne(&node, fd, name, node.name));
  RETURN_IF_ERROR(d.Finish());
  return d.result;
}

Result<std::optional<Node>> BackedUpEntry(Repository* repo, const Snapshot& snapshot,
                                          const std::string& path) {
  std::string abs = AbsolutePath(path);
  if (std::find(snapshot.paths.begin(), snapshot.paths.end(), abs) == snapshot.paths.end())
    return std::optional<Node>();
  std::string name = std::filesystem::path(abs).filename().string();
  ASSIGN_OR_RETURN(Tree root, repo->LoadTree(snapshot.tree));
  for (const Node& n : root.nodes)
    if (n.name == name) return std::optional<Node>(n);
  return std::optional<Node>();
}

}  // namespace cairn
