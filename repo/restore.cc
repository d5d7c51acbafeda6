#include "repo/restore.h"

#include <fnmatch.h>

#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "repo/inplace.h"
#include "repo/restore_engine.h"
#include "repo/walker.h"

namespace cairn {

namespace restore_internal {

int64_t TimespecNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

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

bool AllZero(ByteView b) {
  static const uint8_t kZeros[4096] = {};
  size_t i = 0;
  for (; i + sizeof(kZeros) <= b.size(); i += sizeof(kZeros))
    if (memcmp(b.data() + i, kZeros, sizeof(kZeros)) != 0) return false;
  return memcmp(b.data() + i, kZeros, b.size() - i) == 0;
}

Status Restorer::RestoreTree(const Id& tree_id, DirCtx* dir, bool all_selected) {
  Result<std::shared_ptr<const Tree>> loaded = LoadTree(tree_id);
  if (!loaded.ok()) return Damaged(dir->path.empty() ? "/" : dir->path, loaded.status());
  const std::shared_ptr<const Tree>& tree = *loaded;
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
      RestoreSymlink(dir->fd, node, path, false);
      continue;
    }
    RETURN_IF_ERROR(AddFile(dir, node, path, std::nullopt, false, nullptr));
  }
  return Status::OK();
}

Status Restorer::Finish() {
  RETURN_IF_ERROR(RunBatch());
  if (options_.decode_only || options_.dry_run) return Status::OK();
  // Directory metadata last, deepest first: creating entries changes a folder's mtime.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    const Node& node = it->second;
    int fd = it->first->fd;
    struct stat st;
    const struct stat* now = nullptr;
    if (options_.in_place) {
      if (fstat(fd, &st) == 0) now = &st;
      if (now && MetadataMatches(st, node, options_.restore_owner)) continue;
      if (!it->first->created) ++result_.metadata;
    }
    SetMetadata(fd, node, it->first->path, now);
  }
  return Status::OK();
}

RestoreResult Restorer::result() const {
  RestoreResult r = result_;
  r.bytes = bytes_.load();
  r.bytes_reused = bytes_reused_.load();
  r.verified = verified_.load();
  r.verify_mismatches = verify_mismatches_.load();
  if (!options_.dry_run) r.bytes_fetched = timings_->bytes_read.load() - fetched_before_;
  return r;
}

Status Restorer::AddFile(DirCtx* dir, const Node& node, const std::string& path,
               std::optional<LocalSource> source, bool replace_dir, const struct stat* replaces) {
  if (options_.dry_run) return PlanFile(node, path, source ? &*source : nullptr);
  FileJob& job = batch_.emplace_back();
  job.node = node;
  job.path = path;
  job.replace_dir = replace_dir;
  if (replaces) job.replaces = *replaces;
  if (!options_.decode_only) {
    RETURN_IF_ERROR(dir->Open());
    job.dirfd = dup(dir->fd);
    if (job.dirfd < 0) return Status::FromErrno(errno, "dup");
    job.tmp = NewRestoreTempName();
    job.fd = openat(job.dirfd, job.tmp.c_str(),
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (job.fd < 0) return Status::FromErrno(errno, "create " + path);
    // Pre-sized: blobs land with pwrite in any order, and all-zero blobs stay holes.
    if (node.size > 0 && ftruncate(job.fd, static_cast<off_t>(node.size)) != 0)
      return Status::FromErrno(errno, "size " + path);
  }
  std::unordered_map<Id, const LocalChunk*, IdHash> local;
  if (source) {
    for (const LocalChunk& c : source->chunks) local.emplace(c.id, &c);
    job.source = std::move(source);
  }
  uint64_t offset = 0;
  size_t file = batch_.size() - 1;
  for (const Id& id : node.content) {
    if (auto it = local.find(id); it != local.end()) {
      job.copies.push_back({offset, it->second->offset, it->second->length});
      offset += it->second->length;
      continue;
    }
    Result<BlobLocation> loc = repo_->FindBlob(BlobType::kData, id);
    if (!loc.ok()) {
      MarkDamaged(job, loc.status());
      break;
    }
    plan_.Add(*loc, BlobTarget{file, offset});
    // A rollback's few scattered blobs: the kernel reads them while the walk goes on, instead
    // of one range after the other once it ends (a full restore reads long ranges anyway).
    if (options_.in_place && !options_.dry_run)
      repo_->backend()->Prefetch({ObjectType::kData, loc->pack.Hex()}, loc->entry.offset, loc->entry.length);
    offset += loc->entry.raw_length;
  }
  if (!job.damaged && offset != node.size)
    MarkDamaged(job, Status::Corruption("content length differs from the recorded size"));
  if (batch_.size() >= kBatchFiles || plan_.blob_count() >= kBatchBlobs) return RunBatch();
  return Status::OK();
}

Status Restorer::RunBatch() {
  for (FileJob& job : batch_)
    if (!job.copies.empty() && !job.damaged) pool_.Submit([this, &job] { return CopyLocal(&job); });
  // Execute waits for the whole pool, copies included.
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
      timings_);
  // Each file's metadata, close and rename are independent of the others' (no two jobs share a
  // name), and on ext4 a rename over an existing file also starts writing the new one out: the
  // pool spreads that over the cores instead of the walk's thread doing it file by file.
  for (FileJob& job : batch_) {
    if (!run.ok()) job.damaged = true;  // a write failed: keep no half-written file
    pool_.Submit([this, &job] { return FinishFile(&job); });
  }
  Status finished = pool_.Wait();  // always: the jobs must outlive their tasks
  Status result = run.ok() ? finished : run;
  if (options_.verify && result.ok()) {
    for (FileJob& job : batch_)
      if (job.renamed) pool_.Submit([this, &job] { return VerifyFile(job); });
    result = pool_.Wait();
  }
  // On every path: a batch is never run twice (Finish runs whatever is left after an error).
  batch_.clear();
  plan_ = FetchPlan();
  if (reporter_) reporter_->Progress(bytes_.load(), "");
  return result;
}

// Re-reads a restored file from disk and compares its chunk ids with the snapshot's.
Status Restorer::VerifyFile(const FileJob& job) {
  Status s = [&]() -> Status {
    int fd = openat(job.dirfd, job.node.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open for verification");
    // Written data reaches the disk and leaves the page cache, so the re-read is from disk.
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    thread_local Bytes scratch;
    Result<std::vector<LocalChunk>> chunks = ChunkLocalFile(*repo_, fd, &scratch);
    close(fd);
    if (!chunks.ok()) return chunks.status();
    bool same = chunks->size() == job.node.content.size();
    for (size_t i = 0; same && i < chunks->size(); ++i) same = (*chunks)[i].id == job.node.content[i];
    if (!same) return Status::Corruption("read back after the restore, the content differs from the snapshot");
    return Status::OK();
  }();
  if (s.ok()) {
    ++verified_;
  } else {
    ++verify_mismatches_;
    Problem(job.path, s.WithContext("verify"));
  }
  return Status::OK();
}

Status Restorer::FinishFile(FileJob* job) {
  if (options_.decode_only) {
    std::lock_guard<std::mutex> l(mu_);
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
  SetMetadata(job->fd, node, job->path);
  int fd = job->fd;
  job->fd = -1;
  if (close(fd) != 0) {
    Status s = Status::FromErrno(errno, "close " + job->path);
    unlinkat(job->dirfd, job->tmp.c_str(), 0);
    return s;
  }
  if (job->replaces) {
    // Whatever the restore examined and decided on must still be there: a version written since
    // (in a rollback: after the pre-rollback snapshot kept the tree) is not replaced unseen.
    if (Status s = StillAsListed(job->dirfd, node.name, *job->replaces); !s.ok()) {
      unlinkat(job->dirfd, job->tmp.c_str(), 0);
      Failed(job->path, s).IgnoreError();
      return Status::OK();
    }
  }
  if (job->replace_dir) {
    // Only now, with the new file complete: a folder cannot be renamed over.
    LiveCount count;
    Status s = RemoveLiveEntry(job->dirfd, node.name, false, &count, nullptr, UnchangedBeforeNs(),
                               options_.close_behind);
    if (!s.ok()) {
      unlinkat(job->dirfd, job->tmp.c_str(), 0);
      Failed(job->path, s).IgnoreError();
      return Status::OK();
    }
  }
  // In place, a name the walk found free must still be free: a file created since is not
  // replaced unseen.
  if (Status s = RenameIntoPlace(job->dirfd, job->tmp, node.name, options_.in_place && !job->replaces); !s.ok()) {
    unlinkat(job->dirfd, job->tmp.c_str(), 0);
    Failed(job->path, s).IgnoreError();
    return Status::OK();
  }
  job->renamed = true;
  // The file replaced is freed at the close of its last descriptor, this one.
  if (options_.close_behind && job->source && job->source->fd >= 0) {
    options_.close_behind->Close(job->source->fd);
    job->source->fd = -1;
  }
  std::lock_guard<std::mutex> l(mu_);
  ++result_.files;
  return Status::OK();
}

void Restorer::SetMetadata(int fd, const Node& node, const std::string& path, const struct stat* now) {
  bool owner_matches = now && now->st_uid == node.uid && now->st_gid == node.gid;
  if (options_.restore_owner && !owner_matches && fchown(fd, node.uid, node.gid) != 0)
    Problem(path, Status::FromErrno(errno, "chown"));
  // After a chown: it clears set-user-ID and set-group-ID bits, which chmod then restores.
  bool mode_matches = now && (now->st_mode & 07777) == node.mode && (owner_matches || !options_.restore_owner);
  if (!mode_matches && fchmod(fd, node.mode) != 0) Problem(path, Status::FromErrno(errno, "chmod"));
  struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
  if (futimens(fd, ts) != 0) Problem(path, Status::FromErrno(errno, "set times"));
}

void Restorer::RestoreSymlink(int dirfd, const Node& node, const std::string& path, bool must_not_exist) {
  // Replace whatever is there with the link, atomically, via a temporary name.
  std::string tmp = NewRestoreTempName();
  if (symlinkat(node.link_target.c_str(), dirfd, tmp.c_str()) != 0) {
    Failed(path, Status::FromErrno(errno, "symlink")).IgnoreError();
    return;
  }
  if (options_.restore_owner &&
      fchownat(dirfd, tmp.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) != 0)
    Problem(path, Status::FromErrno(errno, "chown"));
  struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
  utimensat(dirfd, tmp.c_str(), ts, AT_SYMLINK_NOFOLLOW);
  if (Status s = RenameIntoPlace(dirfd, tmp, node.name, must_not_exist); !s.ok()) {
    unlinkat(dirfd, tmp.c_str(), 0);
    Failed(path, s).IgnoreError();
    return;
  }
  ++result_.symlinks;
}

void Restorer::Change(const std::string& path, const char* action, uint64_t bytes) {
  if (options_.list_changes) result_.changes.push_back({path, action, bytes});
}

// The first damage of a file is reported; the file is left out.
void Restorer::MarkDamaged(FileJob& job, const Status& s) {
  if (job.damaged.exchange(true)) return;
  std::lock_guard<std::mutex> l(mu_);
  ++result_.damaged;
  if (reporter_) reporter_->Problem(job.path, s);
}

// Like MarkDamaged, for a failure that is not the repository's.
void Restorer::MarkFailed(FileJob& job, const Status& s) {
  if (job.damaged.exchange(true)) return;
  std::lock_guard<std::mutex> l(mu_);
  ++result_.failed;
  if (reporter_) reporter_->Problem(job.path, s);
}

Status Restorer::Damaged(const std::string& path, const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  ++result_.damaged;
  if (reporter_) reporter_->Problem(path, s);
  return Status::OK();
}

// An entry that could not be handled: reported and counted; the restore goes on.
Status Restorer::Failed(const std::string& path, const Status& s) {
  std::lock_guard<std::mutex> l(mu_);
  ++result_.failed;
  if (reporter_) reporter_->Problem(path, s);
  return Status::OK();
}

void Restorer::Problem(const std::string& path, const Status& s) {
  std::lock_guard<std::mutex> l(mu_);  // also called from the pool (file metadata)
  if (reporter_) reporter_->Problem(path, s);
}

}  // namespace restore_internal

using restore_internal::DirCtx;
using restore_internal::Restorer;
using restore_internal::WriteAll;

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
  if (options.in_place && !options.includes.empty())
    return Status::InvalidArgument("an in-place restore takes no include patterns; restore a folder with SNAPSHOT:PATH");
  if (!options.in_place && (options.dry_run || options.delete_extra))
    return Status::InvalidArgument("dry run and delete go with an in-place restore");
  DirCtx root;
  if (!options.decode_only) {
    if (options.target.empty()) return Status::InvalidArgument("no restore target");
    std::error_code ec;
    if (!options.dry_run) std::filesystem::create_directories(options.target, ec);
    if (ec) return Status::IOError("create " + options.target + ": " + ec.message());
    root.fd = open(options.target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root.fd < 0 && !(options.dry_run && errno == ENOENT))
      return Status::FromErrno(errno, "open " + options.target);
    root.owned = true;
  }
  auto restorer = std::make_unique<Restorer>(repo, options, reporter);
  // Walks that visit every folder; a dry run that stops at the first difference visits few.
  bool whole = options.in_place ? !(options.dry_run && options.stop_at_first_change) : options.includes.empty();
  if (whole) restorer->LoadTreesAhead(snapshot.tree);
  Status walk = options.in_place ? restorer->RestoreTreeInPlace(snapshot.tree, &root)
                                 : restorer->RestoreTree(snapshot.tree, &root, false);
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
