// The restore engine's internals, shared by repo/restore.cc (the walk, batches, fetch plan and
// file finishing) and repo/inplace_restore.cc (the in-place walk over a live tree). Not an
// API: include only from those two files. The contract is in repo/restore.h.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/task_group.h"
#include "repo/fetch_plan.h"
#include "repo/local_chunks.h"
#include "repo/restore.h"
#include "repo/tree_ahead.h"

namespace cairn::restore_internal {

int64_t TimespecNs(const struct timespec& ts);
struct timespec ToTimespec(int64_t ns);
// offset < 0: write at the current position.
Status WriteAll(int fd, ByteView data, int64_t offset);
bool AllZero(ByteView b);
// Copies a byte range between files: in the kernel where it can (copy_file_range; a reflink
// on file systems that share extents), else through a buffer.
Status CopyRange(int src, uint64_t src_offset, int dst, uint64_t dst_offset, uint64_t length);

// A directory of the target, created on first use so that --include creates only
// the folders leading to selected entries.
struct DirCtx {
  DirCtx* parent = nullptr;
  std::string name;
  std::string path;  // relative to the target, for messages
  int fd = -1;
  bool owned = false;
  bool create = true;    // false in a dry run: only existing folders are opened
  bool created = false;  // in-place: the folder was not there before
  ~DirCtx() {
    if (owned && fd >= 0) close(fd);
  }
  Status Open() {
    if (fd >= 0) return Status::OK();
    RETURN_IF_ERROR(parent->Open());
    if (create && mkdirat(parent->fd, name.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::FromErrno(errno, "mkdir " + path);
    // O_NOFOLLOW: an existing symlink here must not lead the restore out of the target.
    fd = openat(parent->fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open directory " + path + " (not following links)");
    owned = true;
    return Status::OK();
  }
};

// A live file whose chunks an in-place restore may reuse: open read-only, never for writing.
struct LocalSource {
  int fd = -1;  // owned
  struct stat st {};
  std::vector<LocalChunk> chunks;
  LocalSource() = default;
  LocalSource(const LocalSource&) = delete;
  LocalSource& operator=(const LocalSource&) = delete;
  LocalSource(LocalSource&& o) noexcept : fd(o.fd), st(o.st), chunks(std::move(o.chunks)) { o.fd = -1; }
  LocalSource& operator=(LocalSource&& o) noexcept {
    std::swap(fd, o.fd);
    st = o.st;
    chunks = std::move(o.chunks);
    return *this;
  }
  ~LocalSource() {
    if (fd >= 0) close(fd);
  }
};

// Bytes of the new file that come from the live file it replaces.
struct LocalCopy {
  uint64_t dst = 0, src = 0, length = 0;
};

// One file being restored: written under a temporary name, renamed when complete.
struct FileJob {
  int dirfd = -1;  // owned
  int fd = -1;     // owned while the batch runs
  std::string tmp, path;
  Node node;
  std::atomic<bool> damaged{false};  // set: the file is abandoned (damage or other failure)
  std::optional<LocalSource> source;  // in-place: the live file being replaced
  std::vector<LocalCopy> copies;
  bool replace_dir = false;  // in-place: a live folder of this name goes just before the rename
  // In-place: the live entry the file replaces, as it was examined; the rename happens only if
  // the entry is still that version (StillAsListed).
  std::optional<struct stat> replaces;
  bool renamed = false;
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
        timings_(options.timings ? options.timings : &own_timings_),
        fetched_before_(timings_->bytes_read.load()),
        threads_(options.threads > 0 ? options.threads : DefaultThreads()),
        pool_(threads_, 2 * threads_) {}

  // Loads the trees below `root` ahead of the walk (TreeAhead), for a walk that visits them all.
  void LoadTreesAhead(const Id& root) { trees_ahead_.emplace(repo_, root); }

  Status RestoreTree(const Id& tree_id, DirCtx* dir, bool all_selected);

  // In-place: makes the open folder `dir` (fd < 0 in a dry run where it does not exist yet)
  // match tree `tree_id`, changing only what differs.
  Status RestoreTreeInPlace(const Id& tree_id, DirCtx* dir);

  Status Finish();

  RestoreResult result() const;

 private:
  // Chunk ids of the live regular files among `nodes` that must be compared by content, computed
  // on the worker pool. Slot i is set for nodes[i] if it was hashed.
  std::vector<std::optional<Result<LocalSource>>> HashLiveFiles(
      const DirCtx& dir, const std::vector<Node>& nodes, const std::map<std::string, struct stat>& live);

  // The live file's chunk ids: known from the pre-rollback snapshot, or read. A file read is
  // closed again (a folder may hold more files than descriptors may be open) and reopened only
  // if its chunks are reused.
  Result<LocalSource> HashLiveFile(int dirfd, const std::string& name, const struct stat& st);
  Result<LocalSource> ReadLiveFile(int dirfd, const std::string& name, const struct stat& st);

  std::optional<LocalSource> KnownLiveFile(const struct stat& st);

  bool QuickMatch(const struct stat& st, const Node& node) const;
  bool Stopping() const { return options_.dry_run && options_.stop_at_first_change && result_.changed(); }

  Status InPlaceEntry(DirCtx* dir, const Node& node, const std::string& path,
                      std::optional<struct stat> st, std::optional<Result<LocalSource>>* hashed);

  // A live regular file where the snapshot has a file.
  Status InPlaceFile(DirCtx* dir, const Node& node, const std::string& path, const struct stat& st,
                     std::optional<Result<LocalSource>>* hashed);

  // `replaces`: the live entry of this name, as examined (in-place), if there is one.
  Status AddFile(DirCtx* dir, const Node& node, const std::string& path,
                 std::optional<LocalSource> source, bool replace_dir, const struct stat* replaces);

  // The live entry's listing with its lstat: the one the pre-rollback snapshot made, if it is
  // still current, else read now.
  // `by_snapshot`: set if the listing is the pre-rollback snapshot's.
  Result<KnownLiveTree::Listing> ListInPlace(const DirCtx& dir, bool* by_snapshot);

  // Dry run: counts what writing the file would cost.
  Status PlanFile(const Node& node, const std::string& path, const LocalSource* source);

  Result<std::shared_ptr<const Tree>> LoadTree(const Id& id) {
    ASSIGN_OR_RETURN(TreeAhead::Loaded loaded, TreeAhead::Load(repo_, trees_ahead_ ? &*trees_ahead_ : nullptr, id));
    return std::move(loaded.tree);
  }

  Status RunBatch();

  // Copies the reused chunks from the live file, then checks it did not change meanwhile
  // (its chunk ids were computed earlier).
  Status CopyLocal(FileJob* job);

  // Re-reads a restored file from disk and compares its chunk ids with the snapshot's.
  Status VerifyFile(const FileJob& job);

  Status FinishFile(FileJob* job);

  // `now`, if given, is the entry's current lstat: what already matches is not set again (each
  // change costs a journalled inode update; a rollback re-times most folders, nothing else).
  void SetMetadata(int fd, const Node& node, const std::string& path, const struct stat* now = nullptr);

  // `must_not_exist`: in place, the walk saw no entry of this name (RenameIntoPlace).
  void RestoreSymlink(int dirfd, const Node& node, const std::string& path, bool must_not_exist);

  // In a rollback, folders are removed only if nothing in them changed since the pre-rollback
  // snapshot began (RemoveLiveEntry's older_than_ns); 0 otherwise.
  int64_t UnchangedBeforeNs() const {
    return options_.known_live_tree ? options_.known_live_tree->unchanged_before_ns() : 0;
  }

  static std::string LinkTarget(int dirfd, const std::string& name);

  void Change(const std::string& path, const char* action, uint64_t bytes);

  // The first damage of a file is reported; the file is left out.
  void MarkDamaged(FileJob& job, const Status& s);

  // Like MarkDamaged, for a failure that is not the repository's.
  void MarkFailed(FileJob& job, const Status& s);

  Status Damaged(const std::string& path, const Status& s);

  // An entry that could not be handled: reported and counted; the restore goes on.
  Status Failed(const std::string& path, const Status& s);

  void Problem(const std::string& path, const Status& s);

  Repository* repo_;
  const RestoreOptions& options_;
  Reporter* reporter_;
  FetchTimings own_timings_;
  FetchTimings* timings_;
  uint64_t fetched_before_;
  int threads_;
  std::mutex mu_;
  RestoreResult result_;  // damaged, failed, files GUARDED_BY(mu_); other fields main thread only
  std::atomic<uint64_t> bytes_{0}, bytes_reused_{0}, verified_{0}, verify_mismatches_{0};
  std::unordered_set<Id, IdHash> planned_blobs_;  // dry run: blobs counted in bytes_fetched
  std::vector<std::pair<std::unique_ptr<DirCtx>, Node>> dirs_;
  std::deque<FileJob> batch_;
  FetchPlan plan_;
  TaskGroup pool_;
  std::optional<TreeAhead> trees_ahead_;  // last: joined first
};

}  // namespace cairn::restore_internal
