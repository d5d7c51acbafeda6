#include "repo/restore.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <filesystem>
#include <memory>

#include "common/task_group.h"
#include "repo/fetch_plan.h"
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

bool AllZero(ByteView b) {
  static const uint8_t kZeros[4096] = {};
  size_t i = 0;
  for (; i + sizeof(kZeros) <= b.size(); i += sizeof(kZeros))
    if (memcmp(b.data() + i, kZeros, sizeof(kZeros)) != 0) return false;
  return memcmp(b.data() + i, kZeros, b.size() - i) == 0;
}

// One file being restored: written under a temporary name, renamed when complete.
struct FileJob {
  int dirfd = -1;  // owned
  int fd = -1;     // owned while the batch runs
  std::string tmp, path;
  Node node;
  std::atomic<bool> damaged{false};
  ~FileJob() {
    if (fd >= 0) close(fd);
    if (dirfd >= 0) close(dirfd);
  }
};

class Restorer {
 public:
  // Files per batch: bounds open descriptors and the plan's memory.
  static constexpr size_t kBatchFiles = 256;
  static constexpr size_t kBatchBlobs = 1 << 16;

  Restorer(Repository* repo, const RestoreOptions& options, Reporter* reporter)
      : repo_(repo),
        options_(options),
        reporter_(reporter),
        threads_(options.threads > 0 ? options.threads : DefaultThreads()),
        pool_(threads_, 2 * threads_) {}

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
        if (selected && !options_.decode_only) RETURN_IF_ERROR(sub->Open());
        RETURN_IF_ERROR(RestoreTree(node.subtree, sub.get(), selected));
        if (sub->fd >= 0) {
          dirs_.push_back({std::move(sub), node});
          ++result_.dirs;
        }
        continue;
      }
      if (!selected) continue;
      if (node.type == NodeType::kSymlink) {
        if (options_.decode_only) continue;
        RETURN_IF_ERROR(dir->Open());
        RestoreSymlink(dir->fd, node, path);
        continue;
      }
      RETURN_IF_ERROR(AddFile(dir, node, path));
    }
    return Status::OK();
  }

  Status Finish() {
    RETURN_IF_ERROR(RunBatch());
    if (options_.decode_only) return Status::OK();
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
    return Status::OK();
  }

  RestoreResult result() const {
    RestoreResult r = result_;
    r.bytes = bytes_.load();
    return r;
  }

 private:
  Status AddFile(DirCtx* dir, const Node& node, const std::string& path) {
    FileJob& job = batch_.emplace_back();
    job.node = node;
    job.path = path;
    if (!options_.decode_only) {
      RETURN_IF_ERROR(dir->Open());
      job.dirfd = dup(dir->fd);
      if (job.dirfd < 0) return Status::FromErrno(errno, "dup");
      job.tmp = ".cairn-tmp-" + ToHex(RandomBytes(8));
      job.fd = openat(job.dirfd, job.tmp.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (job.fd < 0) return Status::FromErrno(errno, "create " + path);
      // Pre-sized: blobs land with pwrite in any order, and all-zero blobs stay holes.
      if (node.size > 0 && ftruncate(job.fd, static_cast<off_t>(node.size)) != 0)
        return Status::FromErrno(errno, "size " + path);
    }
    uint64_t offset = 0;
    size_t file = batch_.size() - 1;
    for (const Id& id : node.content) {
      Result<BlobLocation> loc = repo_->FindBlob(BlobType::kData, id);
      if (!loc.ok()) {
        MarkDamaged(job, loc.status());
        break;
      }
      plan_.Add(*loc, BlobTarget{file, offset});
      offset += loc->entry.raw_length;
    }
    if (!job.damaged && offset != node.size)
      MarkDamaged(job, Status::Corruption("content length differs from the recorded size"));
    if (batch_.size() >= kBatchFiles || plan_.blob_count() >= kBatchBlobs) return RunBatch();
    return Status::OK();
  }

  Status RunBatch() {
    Status run = plan_.Execute(
        repo_, &pool_,
        [this](const BlobTarget& t, ByteView plain) -> Status {
          FileJob& job = batch_[t.file];
          if (job.damaged) return Status::OK();
          uint64_t done = bytes_.fetch_add(plain.size()) + plain.size();
          if (reporter_) reporter_->Progress(done, job.path);
          if (options_.decode_only || AllZero(plain)) return Status::OK();
          return WriteAll(job.fd, plain, static_cast<int64_t>(t.offset)).WithContext(job.path);
        },
        [this](const BlobTarget& t, const Status& s) { MarkDamaged(batch_[t.file], s); },
        options_.timings);
    for (FileJob& job : batch_) {
      if (!run.ok()) job.damaged = true;  // a write failed: keep no half-written file
      RETURN_IF_ERROR(FinishFile(&job));
    }
    batch_.clear();
    plan_ = FetchPlan();
    if (reporter_) reporter_->Progress(bytes_.load(), "");
    return run;
  }

  Status FinishFile(FileJob* job) {
    if (options_.decode_only) {
      if (!job->damaged) ++result_.files;
      return Status::OK();
    }
    auto abandon = [&] {
      close(job->fd);
      job->fd = -1;
      unlinkat(job->dirfd, job->tmp.c_str(), 0);
    };
    if (job->damaged) {
      abandon();
      return Status::OK();
    }
    const Node& node = job->node;
    if (options_.restore_owner && fchown(job->fd, node.uid, node.gid) != 0)
      Problem(job->path, Status::FromErrno(errno, "chown"));
    if (fchmod(job->fd, node.mode) != 0) Problem(job->path, Status::FromErrno(errno, "chmod"));
    struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
    if (futimens(job->fd, ts) != 0) Problem(job->path, Status::FromErrno(errno, "set times"));
    int fd = job->fd;
    job->fd = -1;
    if (close(fd) != 0) {
      Status s = Status::FromErrno(errno, "close " + job->path);
      unlinkat(job->dirfd, job->tmp.c_str(), 0);
      return s;
    }
    if (renameat(job->dirfd, job->tmp.c_str(), job->dirfd, node.name.c_str()) != 0) {
      Status s = Status::FromErrno(errno, "rename into place");
      unlinkat(job->dirfd, job->tmp.c_str(), 0);
      ++result_.failed;
      Problem(job->path, s);
      return Status::OK();
    }
    ++result_.files;
    return Status::OK();
  }

  void RestoreSymlink(int dirfd, const Node& node, const std::string& path) {
    // Replace whatever is there with the link, atomically, via a temporary name.
    std::string tmp = ".cairn-tmp-" + ToHex(RandomBytes(8));
    if (symlinkat(node.link_target.c_str(), dirfd, tmp.c_str()) != 0) {
      ++result_.failed;
      Problem(path, Status::FromErrno(errno, "symlink"));
      return;
    }
    if (options_.restore_owner &&
        fchownat(dirfd, tmp.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) != 0)
      Problem(path, Status::FromErrno(errno, "chown"));
    struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
    utimensat(dirfd, tmp.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    if (renameat(dirfd, tmp.c_str(), dirfd, node.name.c_str()) != 0) {
      Status s = Status::FromErrno(errno, "rename into place");
      unlinkat(dirfd, tmp.c_str(), 0);
      ++result_.failed;
      Problem(path, s);
      return;
    }
    ++result_.symlinks;
  }

  // The first damage of a file is reported; the file is left out.
  void MarkDamaged(FileJob& job, const Status& s) {
    if (job.damaged.exchange(true)) return;
    std::lock_guard<std::mutex> l(mu_);
    ++result_.damaged;
    if (reporter_) reporter_->Problem(job.path, s);
  }

  Status Damaged(const std::string& path, const Status& s) {
    std::lock_guard<std::mutex> l(mu_);
    ++result_.damaged;
    if (reporter_) reporter_->Problem(path, s);
    return Status::OK();
  }

  void Problem(const std::string& path, const Status& s) {
    if (reporter_) reporter_->Problem(path, s);
  }

  Repository* repo_;
  const RestoreOptions& options_;
  Reporter* reporter_;
  int threads_;
  std::mutex mu_;
  RestoreResult result_;  // damaged GUARDED_BY(mu_); other fields main thread only
  std::atomic<uint64_t> bytes_{0};
  std::vector<std::pair<std::unique_ptr<DirCtx>, Node>> dirs_;
  std::deque<FileJob> batch_;
  FetchPlan plan_;
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
  DirCtx root;
  if (!options.decode_only) {
    if (options.target.empty()) return Status::InvalidArgument("no restore target");
    std::error_code ec;
    std::filesystem::create_directories(options.target, ec);
    if (ec) return Status::IOError("create " + options.target + ": " + ec.message());
    root.fd = open(options.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root.fd < 0) return Status::FromErrno(errno, "open " + options.target);
    root.owned = true;
  }
  auto restorer = std::make_unique<Restorer>(repo, options, reporter);
  Status walk = restorer->RestoreTree(snapshot.tree, &root, false);
  Status finish = restorer->Finish();
  RETURN_IF_ERROR(walk);
  RETURN_IF_ERROR(finish);
  return restorer->result();
}

Result<uint64_t> RestoreToFd(Repository* repo, const Snapshot& snapshot, const std::string& path,
                             int fd, int threads) {
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
  // Blobs are loaded in parallel a window at a time and written in order: the window is the
  // bounded reorder buffer (window * max chunk size bytes).
  if (threads <= 0) threads = DefaultThreads();
  const size_t window = 4 * static_cast<size_t>(threads);
  TaskGroup pool(threads, static_cast<int>(window));
  uint64_t written = 0;
  for (size_t begin = 0; begin < node.content.size(); begin += window) {
    size_t n = std::min(window, node.content.size() - begin);
    std::vector<Result<Bytes>> loaded(n, Result<Bytes>(Status::Aborted("not loaded")));
    for (size_t i = 0; i < n; ++i)
      pool.Submit([&, i] {
        loaded[i] = repo->LoadBlob(BlobType::kData, node.content[begin + i]);
        return Status::OK();
      });
    RETURN_IF_ERROR(pool.Wait());
    for (size_t i = 0; i < n; ++i) {
      if (!loaded[i].ok()) return loaded[i].status().WithContext(path.empty() ? node.name : path);
      RETURN_IF_ERROR(WriteAll(fd, *loaded[i], -1));
      written += loaded[i]->size();
    }
  }
  if (written != node.size)
    return Status::Corruption((path.empty() ? node.name : path) +
                              ": content size differs from the recorded size");
  return written;
}

}  // namespace cairn
