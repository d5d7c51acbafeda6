#include "repo/restore.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>

#include "common/task_group.h"
#include "repo/walker.h"

namespace cairn {

namespace {

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1000000000);
  ts.tv_nsec = static_cast<long>(ns % 1000000000);
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

Status WriteAll(int fd, ByteView data, int64_t offset) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = offset >= 0 ? pwrite(fd, data.data() + done, data.size() - done,
                                     offset + static_cast<int64_t>(done))
                            : write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

// A directory of the target, created on first use so that --include creates only
// the folders leading to selected entries.
struct DirCtx {
  DirCtx* parent = nullptr;
  std::string name;
  std::string path;  // relative to the target, for messages
  int fd = -1;
  bool owned = false;
  ~DirCtx() {
    if (owned && fd >= 0) close(fd);
  }
  Status Open() {
    if (fd >= 0) return Status::OK();
    RETURN_IF_ERROR(parent->Open());
    if (mkdirat(parent->fd, name.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::FromErrno(errno, "mkdir " + path);
    // O_NOFOLLOW: an existing symlink here must not lead the restore out of the target.
    fd = openat(parent->fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open directory " + path + " (not following links)");
    owned = true;
    return Status::OK();
  }
};

class Restorer {
 public:
  Restorer(Repository* repo, const RestoreOptions& options, Reporter* reporter)
      : repo_(repo),
        options_(options),
        reporter_(reporter),
        pool_(options.threads > 0 ? options.threads : DefaultThreads(),
              2 * (options.threads > 0 ? options.threads : DefaultThreads())) {}

  Status RestoreTree(const Id& tree_id, DirCtx* dir, bool all_selected) {
    Result<Tree> tree = repo_->LoadTree(tree_id);
    if (!tree.ok()) return Damaged(dir->path.empty() ? "/" : dir->path, tree.status());
    for (const Node& node : tree->nodes) {
      if (!IsValidNodeName(node.name))  // DecodeTree checks too; restore never relies on one check
        return Status::Corruption("tree " + tree_id.Hex() + ": hostile entry name");
      std::string path = dir->path.empty() ? node.name : dir->path + "/" + node.name;
      bool selected = all_selected || IncludeMatches(options_.includes, path);
      if (node.type == NodeType::kDir) {
        auto sub = std::make_unique<DirCtx>();
        sub->parent = dir;
        sub->name = node.name;
        sub->path = path;
        if (selected) RETURN_IF_ERROR(sub->Open());
        RETURN_IF_ERROR(RestoreTree(node.subtree, sub.get(), selected));
        if (sub->fd >= 0) {
          dirs_.push_back({std::move(sub), node});
          ++result_.dirs;
        }
        continue;
      }
      if (!selected) continue;
      RETURN_IF_ERROR(dir->Open());
      if (node.type == NodeType::kSymlink) {
        RETURN_IF_ERROR(RestoreSymlink(dir->fd, node, path));
        continue;
      }
      int fd = dup(dir->fd);
      if (fd < 0) return Status::FromErrno(errno, "dup");
      pool_.Submit([this, fd, node, path]() -> Status {
        Status s = RestoreFile(fd, node, path);
        close(fd);
        return s;
      });
      RETURN_IF_ERROR(pool_.error());
    }
    return Status::OK();
  }

  Status Finish() {
    RETURN_IF_ERROR(pool_.Wait());
    // Directory metadata last, deepest first: creating entries changes a folder's mtime.
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      const Node& node = it->second;
      int fd = it->first->fd;
      if (options_.restore_owner && fchown(fd, node.uid, node.gid) != 0)
        Problem(it->first->path, Status::FromErrno(errno, "chown"));
      if (fchmod(fd, node.mode) != 0) Problem(it->first->path, Status::FromErrno(errno, "chmod"));
      struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
      if (futimens(fd, ts) != 0) Problem(it->first->path, Status::FromErrno(errno, "set times"));
    }
    RestoreResult r = result_;
    r.files = files_.load();
    r.bytes = bytes_.load();
    r.damaged = damaged_.load();
    r.failed += failed_.load();
    result_ = r;
    return Status::OK();
  }

  RestoreResult result() const { return result_; }

 private:
  Status RestoreSymlink(int dirfd, const Node& node, const std::string& path) {
    // Replace whatever is there with the link, atomically, via a temporary name.
    std::string tmp = ".cairn-tmp-" + ToHex(RandomBytes(8));
    if (symlinkat(node.link_target.c_str(), dirfd, tmp.c_str()) != 0) {
      Problem(path, Status::FromErrno(errno, "symlink"));
      return Status::OK();
    }
    if (options_.restore_owner && fchownat(dirfd, tmp.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) != 0)
      Problem(path, Status::FromErrno(errno, "chown"));
    struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
    utimensat(dirfd, tmp.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    if (renameat(dirfd, tmp.c_str(), dirfd, node.name.c_str()) != 0) {
      Status s = Status::FromErrno(errno, "rename into place");
      unlinkat(dirfd, tmp.c_str(), 0);
      Problem(path, s);
      return Status::OK();
    }
    ++result_.symlinks;
    return Status::OK();
  }

  // Runs on a worker. Returns an error only for failures that must stop the restore.
  Status RestoreFile(int dirfd, const Node& node, const std::string& path) {
    std::string tmp = ".cairn-tmp-" + ToHex(RandomBytes(8));
    int fd = openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "create " + path);
    auto abandon = [&](const Status& s) {
      close(fd);
      unlinkat(dirfd, tmp.c_str(), 0);
      return s;
    };
    if (node.size > 0 && ftruncate(fd, static_cast<off_t>(node.size)) != 0)
      return abandon(Status::FromErrno(errno, "size " + path));
    uint64_t offset = 0;
    for (const Id& id : node.content) {
      Result<Bytes> blob = repo_->LoadBlob(BlobType::kData, id);
      if (!blob.ok()) {
        (void)abandon(Status::OK());
        damaged_.fetch_add(1);
        Problem(path, blob.status());
        return Status::OK();
      }
      if (offset + blob->size() > node.size) {
        (void)abandon(Status::OK());
        damaged_.fetch_add(1);
        Problem(path, Status::Corruption("content longer than the recorded size"));
        return Status::OK();
      }
      Status w = WriteAll(fd, *blob, static_cast<int64_t>(offset));
      if (!w.ok()) return abandon(w.WithContext(path));
      offset += blob->size();
    }
    if (offset != node.size) {
      (void)abandon(Status::OK());
      damaged_.fetch_add(1);
      Problem(path, Status::Corruption("content shorter than the recorded size"));
      return Status::OK();
    }
    if (options_.restore_owner && fchown(fd, node.uid, node.gid) != 0)
      Problem(path, Status::FromErrno(errno, "chown"));
    if (fchmod(fd, node.mode) != 0) Problem(path, Status::FromErrno(errno, "chmod"));
    struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
    if (futimens(fd, ts) != 0) Problem(path, Status::FromErrno(errno, "set times"));
    if (close(fd) != 0) {
      Status s = Status::FromErrno(errno, "close " + path);
      unlinkat(dirfd, tmp.c_str(), 0);
      return s;
    }
    if (renameat(dirfd, tmp.c_str(), dirfd, node.name.c_str()) != 0) {
      Status s = Status::FromErrno(errno, "rename into place");
      unlinkat(dirfd, tmp.c_str(), 0);
      failed_.fetch_add(1);
      Problem(path, s);
      return Status::OK();
    }
    files_.fetch_add(1);
    bytes_.fetch_add(node.size);
    if (reporter_) reporter_->Progress(bytes_.load(), path);
    return Status::OK();
  }

  Status Damaged(const std::string& path, const Status& s) {
    damaged_.fetch_add(1);
    Problem(path, s);
    return Status::OK();
  }

  void Problem(const std::string& path, const Status& s) {
    if (reporter_) reporter_->Problem(path, s);
  }

  Repository* repo_;
  const RestoreOptions& options_;
  Reporter* reporter_;
  RestoreResult result_;
  std::atomic<uint64_t> files_{0}, bytes_{0}, damaged_{0}, failed_{0};
  std::vector<std::pair<std::unique_ptr<DirCtx>, Node>> dirs_;
  TaskGroup pool_;  // last: joined first
};

}  // namespace

bool IncludeMatches(const std::vector<std::string>& includes, const std::string& path) {
  if (includes.empty()) return true;
  for (std::string pattern : includes) {
    while (!pattern.empty() && pattern.front() == '/') pattern.erase(0, 1);
    while (pattern.size() > 1 && pattern.back() == '/') pattern.pop_back();
    if (fnmatch(pattern.c_str(), path.c_str(), 0) == 0) return true;
    // A pattern naming a folder selects everything below it.
    if (path.size() > pattern.size() && path.compare(0, pattern.size(), pattern) == 0 &&
        path[pattern.size()] == '/')
      return true;
  }
  return false;
}

Result<RestoreResult> RestoreToDir(Repository* repo, const Snapshot& snapshot,
                                   const RestoreOptions& options, Reporter* reporter) {
  if (options.target.empty()) return Status::InvalidArgument("no restore target");
  std::error_code ec;
  std::filesystem::create_directories(options.target, ec);
  if (ec) return Status::IOError("create " + options.target + ": " + ec.message());
  DirCtx root;
  root.fd = open(options.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root.fd < 0) return Status::FromErrno(errno, "open " + options.target);
  root.owned = true;
  auto restorer = std::make_unique<Restorer>(repo, options, reporter);
  Status walk = restorer->RestoreTree(snapshot.tree, &root, false);
  Status finish = restorer->Finish();
  RETURN_IF_ERROR(walk);
  RETURN_IF_ERROR(finish);
  return restorer->result();
}

Result<uint64_t> RestoreToFd(Repository* repo, const Snapshot& snapshot, const std::string& path,
                             int fd) {
  Node node;
  if (path.empty()) {
    ASSIGN_OR_RETURN(Tree root, repo->LoadTree(snapshot.tree));
    if (root.nodes.size() != 1 || root.nodes[0].type != NodeType::kFile)
      return Status::InvalidArgument("name the file to write: the snapshot holds more than one");
    node = root.nodes[0];
  } else {
    ASSIGN_OR_RETURN(node, FindNode(repo, snapshot.tree, path));
    if (node.type != NodeType::kFile) return Status::InvalidArgument(path + " is not a file");
  }
  uint64_t written = 0;
  for (const Id& id : node.content) {
    ASSIGN_OR_RETURN_CTX(Bytes blob, repo->LoadBlob(BlobType::kData, id), node.name);
    RETURN_IF_ERROR(WriteAll(fd, blob, -1));
    written += blob.size();
  }
  if (written != node.size)
    return Status::Corruption(node.name + ": content size differs from the recorded size");
  return written;
}

}  // namespace cairn
