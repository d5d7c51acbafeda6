// The in-place half of the restore engine: walking a live tree beside the snapshot's, keeping
// what matches, reusing the chunks of changed files (repo/restore.h "In-place mode").
#include <unordered_map>

#include "repo/inplace.h"
#include "repo/restore_engine.h"

namespace cairn::restore_internal {

// Copies a byte range between files: in the kernel where it can (copy_file_range; a reflink
// on file systems that share extents), else through a buffer.
Status CopyRange(int src, uint64_t src_offset, int dst, uint64_t dst_offset, uint64_t length) {
  loff_t in = static_cast<loff_t>(src_offset), out = static_cast<loff_t>(dst_offset);
  while (length > 0) {
    ssize_t n = copy_file_range(src, &in, dst, &out, length, 0);
    if (n > 0) {
      length -= static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) return Status::IOError("live file shorter than when it was read");
    if (errno == EINTR) continue;
    if (errno == ENOSPC || errno == EDQUOT) return Status::FromErrno(errno, "write");
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
      return Status::FromErrno(errno, "copy from the live file");
    break;  // not supported here: copy through a buffer
  }
  Bytes buf(std::min<uint64_t>(length, 1 << 20));
  while (length > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(length, buf.size()));
    ssize_t n = pread(src, buf.data(), want, in);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::FromErrno(errno, "read the live file");
    if (n == 0) return Status::IOError("live file shorter than when it was read");
    RETURN_IF_ERROR(WriteAll(dst, ByteView(buf.data(), static_cast<size_t>(n)), out));
    in += n;
    out += n;
    length -= static_cast<uint64_t>(n);
  }
  return Status::OK();
}

// In-place: makes the open folder `dir` (fd < 0 in a dry run where it does not exist yet)
// match tree `tree_id`, changing only what differs.
Status Restorer::RestoreTreeInPlace(const Id& tree_id, DirCtx* dir) {
  if (Stopping()) return Status::OK();  // e.g. this folder's own metadata already differs
  Result<std::shared_ptr<const Tree>> loaded = LoadTree(tree_id);
  if (!loaded.ok()) return Damaged(dir->path.empty() ? "/" : dir->path, loaded.status());
  const std::shared_ptr<const Tree>& tree = *loaded;
  std::map<std::string, struct stat> live;
  bool listed_by_snapshot = false;
  if (dir->fd >= 0) {
    Result<std::map<std::string, struct stat>> listed = ListInPlace(*dir, &listed_by_snapshot);
    if (!listed.ok()) return listed.status().WithContext(dir->path.empty() ? "/" : dir->path);
    live = std::move(listed).value();
  }
  for (const Node& node : tree->nodes)
    if (!IsValidNodeName(node.name))
      return Status::Corruption("tree " + tree_id.Hex() + ": hostile entry name");
  std::vector<std::optional<Result<LocalSource>>> hashed = HashLiveFiles(*dir, tree->nodes, live);
  for (size_t i = 0; i < tree->nodes.size(); ++i) {
    const Node& node = tree->nodes[i];
    std::string path = dir->path.empty() ? node.name : dir->path + "/" + node.name;
    std::optional<struct stat> st;
    if (auto it = live.find(node.name); it != live.end()) {
      st = it->second;
      live.erase(it);
    }
    RETURN_IF_ERROR(InPlaceEntry(dir, node, path, st, &hashed[i]));
    if (Stopping()) return Status::OK();
  }
  // What is left is not in the snapshot.
  for (const auto& entry : live) {
    const std::string& name = entry.first;
    std::string path = dir->path.empty() ? name : dir->path + "/" + name;
    bool stale_temp = IsRestoreTempName(name) && !S_ISDIR(entry.second.st_mode);
    if (!stale_temp && !options_.delete_extra) continue;
    // In a rollback, a folder listed afresh (it changed since the pre-rollback snapshot listed
    // it) may hold a file created since: in no snapshot, so not removed. Entries of a listing
    // the snapshot made are in it.
    if (!listed_by_snapshot && UnchangedBeforeNs() != 0 && !S_ISDIR(entry.second.st_mode) && !options_.dry_run &&
        ChangedSince(entry.second.st_ctim, UnchangedBeforeNs())) {
      Failed(path, Status::IOError("changed since the pre-rollback snapshot began: not removed; run the restore again"))
          .IgnoreError();
      continue;
    }
    LiveCount count;
    Status s = RemoveLiveEntry(dir->fd, name, options_.dry_run, &count, &entry.second, UnchangedBeforeNs(),
                               options_.close_behind);
    if (!s.ok()) {
      Failed(path, s).IgnoreError();
      continue;
    }
    if (stale_temp) {
      ++result_.stale_temps;
    } else {
      result_.deleted += count.entries;
      result_.deleted_bytes += count.bytes;
    }
    Change(path, "delete", count.bytes);
    if (Stopping()) return Status::OK();
  }
  return Status::OK();
}

Result<KnownLiveTree::Listing> Restorer::ListInPlace(const DirCtx& dir, bool* by_snapshot) {
  *by_snapshot = false;
  if (options_.known_live_tree) {
    struct stat st;
    if (fstat(dir.fd, &st) != 0) return Status::FromErrno(errno, "stat folder");
    if (std::optional<KnownLiveTree::Listing> known = options_.known_live_tree->TakeListing(st)) {
      *by_snapshot = true;
      return std::move(*known);
    }
  }
  return ListLiveDir(dir.fd);
}

// Chunk ids of the live regular files among `nodes` that must be compared by content, computed
// on the worker pool. Slot i is set for nodes[i] if it was hashed.
std::vector<std::optional<Result<LocalSource>>> Restorer::HashLiveFiles(
    const DirCtx& dir, const std::vector<Node>& nodes, const std::map<std::string, struct stat>& live) {
  std::vector<std::optional<Result<LocalSource>>> out(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    auto it = live.find(node.name);
    if (node.type != NodeType::kFile || it == live.end() || !S_ISREG(it->second.st_mode)) continue;
    if (QuickMatch(it->second, node)) continue;
    // Deciding only whether anything changes: other metadata is a change whatever the content,
    // so a file (of any size) is not read for that.
    if (options_.dry_run && options_.stop_at_first_change &&
        (result_.changed() || !MetadataMatches(it->second, node, options_.restore_owner)))
      continue;
    ++result_.compared;
    // A file the pre-rollback snapshot has just read costs a few index lookups here: a task
    // each cost more in thread wake-ups than that.
    if (std::optional<LocalSource> known = KnownLiveFile(it->second)) {
      out[i].emplace(std::move(*known));
      continue;
    }
    out[i].emplace(Status::IOError("not hashed"));
    std::optional<Result<LocalSource>>* slot = &out[i];
    const struct stat* st = &it->second;
    int dirfd = dir.fd;
    pool_.Submit([this, slot, st, dirfd, &node] {
      **slot = ReadLiveFile(dirfd, node.name, *st);
      return Status::OK();
    });
  }
  Status s = pool_.Wait();
  (void)s;  // the tasks always succeed; their results are in the slots
  return out;
}

// The live file's chunk ids. The file is closed again (a folder may hold more files than
// descriptors may be open) and reopened only if its chunks are reused.
Result<LocalSource> Restorer::HashLiveFile(int dirfd, const std::string& name, const struct stat& st) {
  if (std::optional<LocalSource> known = KnownLiveFile(st)) return std::move(*known);
  return ReadLiveFile(dirfd, name, st);
}

Result<LocalSource> Restorer::ReadLiveFile(int dirfd, const std::string& name, const struct stat& st) {
  thread_local Bytes scratch;
  LocalSource src;
  ASSIGN_OR_RETURN(src.fd, OpenLiveFile(dirfd, name, st));
  src.st = st;
  Result<std::vector<LocalChunk>> chunks = ChunkLocalFile(*repo_, src.fd, &scratch);
  close(src.fd);
  src.fd = -1;
  if (!chunks.ok()) return chunks.status().WithContext(name);
  src.chunks = std::move(chunks).value();
  return src;
}

// The chunks of a live file the pre-rollback snapshot has just read, without reading it again;
// nullopt to read it after all.
std::optional<LocalSource> Restorer::KnownLiveFile(const struct stat& st) {
  if (!options_.known_live_tree) return std::nullopt;
  const std::vector<Id>* ids = options_.known_live_tree->FindFile(st);
  if (!ids) return std::nullopt;
  LocalSource src;
  src.st = st;
  uint64_t offset = 0;
  for (const Id& id : *ids) {
    Result<BlobLocation> loc = repo_->FindBlob(BlobType::kData, id);
    if (!loc.ok() || loc->entry.raw_length > UINT32_MAX) return std::nullopt;
    src.chunks.push_back({id, offset, static_cast<uint32_t>(loc->entry.raw_length)});
    offset += loc->entry.raw_length;
  }
  if (offset != static_cast<uint64_t>(st.st_size)) return std::nullopt;
  return src;
}

bool Restorer::QuickMatch(const struct stat& st, const Node& node) const {
  if (static_cast<uint64_t>(st.st_size) != node.size || TimespecNs(st.st_mtim) != node.mtime_ns)
    return false;
  if (options_.quick) return true;
  if (options_.checksum) return false;
  // The inode the snapshot read, untouched since: the kernel moves ctime on every change of
  // content or metadata and nothing in user space can set it back, so this is proof, not a
  // guess (the test backup relies on to skip unchanged files). A tree copied or extracted over
  // (`cp -p`, tar) has new ctimes and is compared by content.
  return node.inode != 0 && node.inode == static_cast<uint64_t>(st.st_ino) &&
         node.device == static_cast<uint64_t>(st.st_dev) && TimespecNs(st.st_ctim) == node.ctime_ns &&
         !(node.flags & kNodeChangedDuringRead);
}

Status Restorer::InPlaceEntry(DirCtx* dir, const Node& node, const std::string& path,
                    std::optional<struct stat> st, std::optional<Result<LocalSource>>* hashed) {
  const bool dry = options_.dry_run;
  const bool live_dir = st && S_ISDIR(st->st_mode);
  if (live_dir && node.type != NodeType::kDir) {
    // Replacing a folder deletes everything in it that the snapshot does not hold.
    if (!options_.delete_extra) {
      ++result_.conflicts;
      Change(path, "conflict", 0);
      Problem(path, Status::InvalidArgument("a folder in the target, a " +
                                            std::string(node.type == NodeType::kFile ? "file" : "symlink") +
                                            " in the snapshot: left as it is (--delete replaces it)"));
      return Status::OK();
    }
    LiveCount count;
    Status s = RemoveLiveEntry(dir->fd, node.name, true, &count);
    if (!s.ok()) return Failed(path, s);
    result_.deleted += count.entries;
    result_.deleted_bytes += count.bytes;
  }
  switch (node.type) {
    case NodeType::kDir: {
      bool create = !st;
      if (st && !live_dir) {  // a file, symlink or special file where the snapshot has a folder
        if (!dry) {
          if (Status s = StillAsListed(dir->fd, node.name, *st); !s.ok()) return Failed(path, s);
          if (unlinkat(dir->fd, node.name.c_str(), 0) != 0) return Failed(path, Status::FromErrno(errno, "remove"));
        }
        create = true;
      }
      auto sub = std::make_unique<DirCtx>();
      sub->parent = dir;
      sub->name = node.name;
      sub->path = path;
      sub->create = !dry;
      sub->created = create;
      if (create) {
        ++result_.dirs;
        Change(path, st ? "replace" : "create", 0);
      } else if (!MetadataMatches(*st, node, options_.restore_owner) && dry) {
        ++result_.metadata;
        Change(path, "metadata", 0);
      }
      if (!dry || !create) RETURN_IF_ERROR(sub->Open());
      RETURN_IF_ERROR(RestoreTreeInPlace(node.subtree, sub.get()));
      if (sub->fd >= 0 && !dry) dirs_.push_back({std::move(sub), node});
      return Status::OK();
    }
    case NodeType::kSymlink: {
      if (st && S_ISLNK(st->st_mode) && LinkTarget(dir->fd, node.name) == node.link_target) {
        if (MetadataMatches(*st, node, options_.restore_owner)) {
          ++result_.unchanged;
          return Status::OK();
        }
        ++result_.metadata;
        Change(path, "metadata", 0);
        if (dry) return Status::OK();
        if (options_.restore_owner &&
            fchownat(dir->fd, node.name.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) != 0)
          Problem(path, Status::FromErrno(errno, "chown"));
        struct timespec ts[2] = {ToTimespec(node.mtime_ns), ToTimespec(node.mtime_ns)};
        if (utimensat(dir->fd, node.name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
          Problem(path, Status::FromErrno(errno, "set times"));
        return Status::OK();
      }
      Change(path, st ? "replace" : "create", 0);
      if (live_dir && !dry) {
        LiveCount count;
        Status s = RemoveLiveEntry(dir->fd, node.name, false, &count, &*st, UnchangedBeforeNs(),
                                   options_.close_behind);
        if (!s.ok()) return Failed(path, s);
      }
      if (dry) {
        ++result_.symlinks;
        return Status::OK();
      }
      if (st && !live_dir) {  // replaced by the rename below: only as examined
        if (Status s = StillAsListed(dir->fd, node.name, *st); !s.ok()) return Failed(path, s);
      }
      RETURN_IF_ERROR(dir->Open());
      RestoreSymlink(dir->fd, node, path, /*must_not_exist=*/!st || live_dir);
      return Status::OK();
    }
    case NodeType::kFile:
      break;
  }
  if (!st || !S_ISREG(st->st_mode)) {
    Change(path, st ? "replace" : "create", node.size);
    return AddFile(dir, node, path, std::nullopt, live_dir, st ? &*st : nullptr);
  }
  return InPlaceFile(dir, node, path, *st, hashed);
}

// A live regular file where the snapshot has a file.
Status Restorer::InPlaceFile(DirCtx* dir, const Node& node, const std::string& path, const struct stat& st,
                   std::optional<Result<LocalSource>>* hashed) {
  bool same_content = true;
  if (hashed->has_value()) {
    Result<LocalSource>& src = **hashed;
    if (!src.ok()) return Failed(path, src.status());
    same_content = src->chunks.size() == node.content.size();
    for (size_t i = 0; same_content && i < node.content.size(); ++i)
      same_content = src->chunks[i].id == node.content[i];
  }
  const bool metadata_matches = MetadataMatches(st, node, options_.restore_owner);
  if (same_content && metadata_matches) {
    ++result_.unchanged;
    return Status::OK();
  }
  // Setting the mode or mtime of a hard-linked file would change its other names too: such a
  // file gets a fresh copy instead (all of it reused from the live file).
  if (same_content && st.st_nlink == 1) {
    ++result_.metadata;
    Change(path, "metadata", 0);
    if (options_.dry_run) return Status::OK();
    Result<int> fd = OpenLiveFile(dir->fd, node.name, st);
    if (!fd.ok()) return Failed(path, fd.status());
    // The content was compared as of `st`: a file written since gets no metadata from the snapshot.
    struct stat now;
    if (fstat(*fd, &now) != 0 || !SameVersion(st, now)) {
      close(*fd);
      return Failed(path, NotAsExamined());
    }
    SetMetadata(*fd, node, path, &now);
    close(*fd);
    return Status::OK();
  }
  if (!hashed->has_value()) hashed->emplace(HashLiveFile(dir->fd, node.name, st));
  if (!(*hashed)->ok()) return Failed(path, (*hashed)->status());
  Change(path, "write", node.size);
  LocalSource src = std::move(**hashed).value();
  if (!options_.dry_run) {
    Result<int> fd = OpenLiveFile(dir->fd, node.name, st);
    if (!fd.ok()) return Failed(path, fd.status());
    src.fd = *fd;
  }
  return AddFile(dir, node, path, std::move(src), false, &st);
}

// Dry run: counts what writing the file would cost.
Status Restorer::PlanFile(const Node& node, const std::string& path, const LocalSource* source) {
  std::unordered_map<Id, uint32_t, IdHash> local;
  if (source)
    for (const LocalChunk& c : source->chunks) local.emplace(c.id, c.length);
  for (const Id& id : node.content) {
    if (auto it = local.find(id); it != local.end()) {
      bytes_reused_ += it->second;
      continue;
    }
    Result<BlobLocation> loc = repo_->FindBlob(BlobType::kData, id);
    if (!loc.ok()) return Damaged(path, loc.status());
    if (planned_blobs_.insert(id).second) result_.bytes_fetched += loc->entry.length;
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    ++result_.files;
  }
  bytes_ += node.size;
  return Status::OK();
}

// Copies the reused chunks from the live file, then checks it did not change meanwhile
// (its chunk ids were computed earlier).
Status Restorer::CopyLocal(FileJob* job) {
  const LocalSource& src = *job->source;
  uint64_t copied = 0;
  for (const LocalCopy& c : job->copies) {
    if (job->damaged) return Status::OK();
    Status s = CopyRange(src.fd, c.src, job->fd, c.dst, c.length);
    if (s.code() == Code::kNoSpace) return s.WithContext(job->path);  // stops the restore
    if (!s.ok()) {
      MarkFailed(*job, s);
      return Status::OK();
    }
    copied += c.length;
  }
  struct stat now;
  if (fstat(src.fd, &now) != 0 || !SameVersion(src.st, now)) {
    MarkFailed(*job, Status::IOError("changed while being restored; run the restore again"));
    return Status::OK();
  }
  bytes_reused_ += copied;
  uint64_t done = bytes_.fetch_add(copied) + copied;
  if (reporter_) reporter_->Progress(done, job->path);
  return Status::OK();
}

std::string Restorer::LinkTarget(int dirfd, const std::string& name) {
  std::string buf(4096, '\0');
  ssize_t n = readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
  if (n < 0 || static_cast<size_t>(n) >= buf.size()) return std::string(1, '\0');  // matches no target
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace cairn::restore_internal
