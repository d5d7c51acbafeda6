#include "repo/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "common/task_group.h"
#include "repo/listing_ahead.h"
#include "repo/tree_ahead.h"

namespace cairn {

namespace {

int64_t ToNs(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

std::string AbsolutePath(const std::string& p) {
  std::string s = std::filesystem::absolute(p).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Turns inputs into trees and blobs. One per backup; the walk runs on the calling thread.
class Archiver {
 public:
  Archiver(Repository* repo, const BackupOptions& options, Reporter* reporter)
      : repo_(repo),
        reporter_(reporter),
        selection_(options.selection),
        before_read_(options.before_read_for_test),
        record_live_tree_(options.record_live_tree),
        threads_(options.threads > 0 ? options.threads : DefaultThreads()),
        pool_(threads_, 2 * threads_) {}

  // Chunks everything `input` yields; chunk ids are appended to *ids as workers finish them
  // (slots are reserved in order, so the list is in content order once the pool drains).
  Result<uint64_t> SaveContent(Reader* input, std::deque<Id>* ids, const std::string& path) {
    Chunker chunker(repo_->gear(), repo_->config().chunker, input, &chunk_buffer_);
    uint64_t total = 0;
    for (;;) {
      ASSIGN_OR_RETURN(std::optional<ByteView> chunk, chunker.Next());
      if (!chunk) break;
      RETURN_IF_ERROR(pool_.error());
      total += chunk->size();
      ids->emplace_back();
      Id* slot = &ids->back();  // deque::emplace_back keeps earlier references valid
      if (!batch_) batch_ = TakeBatch();
      ReserveScratch(&batch_->data, batch_->data.size() + chunk->size());
      batch_->chunks.push_back({batch_->data.size(), chunk->size(), slot});
      batch_->data.insert(batch_->data.end(), chunk->begin(), chunk->end());
      if (batch_->data.size() >= kBatchBytes) FlushBatch();
      bytes_done_ += chunk->size();
      if (reporter_) reporter_->Progress(bytes_done_, path);
    }
    stats_.bytes_raw += total;
    return total;
  }

  // Small files make small chunks: handing each to a worker on its own costs more in thread
  // wake-ups than the work itself, so chunks travel to the workers in batches.
  static constexpr size_t kBatchBytes = 512 << 10;

  // Chunks copied out of the chunker's window, for a worker. Batches are reused: a fresh copy
  // of every chunk faulted its pages in anew, a tenth of a big changed file's backup.
  struct Batch {
    struct Chunk {
      size_t offset, size;
      Id* slot;
    };
    Bytes data;
    std::vector<Chunk> chunks;
  };

  std::shared_ptr<Batch> TakeBatch() {
    {
      std::lock_guard<std::mutex> l(free_batches_mu_);
      if (!free_batches_.empty()) {
        std::shared_ptr<Batch> b = std::move(free_batches_.back());
        free_batches_.pop_back();
        return b;
      }
    }
    // Sized at once for what a batch holds (it is flushed once past kBatchBytes): grown chunk by
    // chunk, a fresh batch was reallocated and copied about five times. Capped, as chunks may
    // be up to 64 MiB: a bigger one grows the batch when it comes.
    auto b = std::make_shared<Batch>();
    ReserveScratch(&b->data, kBatchBytes + std::min<size_t>(repo_->config().chunker.max_size, 2 << 20));
    return b;
  }

  void FlushBatch() {
    if (!batch_ || batch_->chunks.empty()) return;
    std::shared_ptr<Batch> batch = std::move(batch_);
    pool_.Submit([this, batch]() -> Status {
      for (const Batch::Chunk& c : batch->chunks) {
        ByteView data(batch->data.data() + c.offset, c.size);
        ASSIGN_OR_RETURN(SaveResult r, repo_->SaveBlob(BlobType::kData, data));
        *c.slot = r.id;
        if (r.added) {
          blobs_added_.fetch_add(1);
          bytes_added_raw_.fetch_add(data.size());
          bytes_added_stored_.fetch_add(r.stored_bytes);
        }
      }
      batch->data.clear();
      batch->chunks.clear();
      std::lock_guard<std::mutex> l(free_batches_mu_);
      free_batches_.push_back(batch);  // this task no longer touches it
      return Status::OK();
    });
  }

  // Everything submitted so far is saved (or failed).
  Status Drain() {
    FlushBatch();
    return pool_.Wait();
  }

  Result<Id> SaveTree(Tree tree) {
    SortTree(&tree);
    Bytes encoded = EncodeTree(tree);
    ASSIGN_OR_RETURN(SaveResult r, repo_->SaveBlob(BlobType::kTree, encoded));
    if (r.added) {
      blobs_added_.fetch_add(1);
      bytes_added_raw_.fetch_add(encoded.size());
      bytes_added_stored_.fetch_add(r.stored_bytes);
    }
    return r.id;
  }

  // A folder walked whose tree is not saved yet: chunk ids of its files are still being computed
  // on the pool, or a folder below it is in that state. Saving a tree needs those ids, so it
  // waits for the pool; waiting at the end of every folder left the walk idle while the pool
  // finished that folder's last chunks (a quarter of the walk of a tree with changes scattered
  // over many folders). Such folders are saved in batches instead (SaveWalked).
  struct WalkedDir {
    Tree tree;
    std::vector<std::unique_ptr<std::deque<Id>>> pending;  // content of tree.nodes[pending_node[i]]
    std::vector<size_t> pending_node;
    std::vector<std::pair<size_t, std::unique_ptr<WalkedDir>>> subdirs;  // node index, its folder
    // For the restore of a rollback: the folder's listing, usable only if complete.
    std::optional<KnownLiveTree::Listing> listing;
    struct stat dir_st {};
    int64_t listed_at = 0;
    std::optional<Id> id;  // once saved
  };
  // Folders walked but not saved, in the order their walks ended: a folder after its subfolders.
  static constexpr size_t kMaxWalkedDirs = 256;

  struct DirResult {
    Id id;                              // the tree, if saved
    std::unique_ptr<WalkedDir> walked;  // else the folder, saved by a later SaveWalked
  };

  // Backs up the entry `name` of the directory open at dirfd, as a node of its parent tree.
  // Returns nullopt if the entry was skipped (reported).
  // `listed`, if given, receives the entry's lstat. For a folder whose tree cannot be saved yet,
  // the node's subtree is left unset and *walked receives the folder (see WalkedDir).
  Result<std::optional<Node>> SaveEntry(int dirfd, const std::string& name, const std::string& path,
                                        const Node* parent,
                                        std::vector<std::unique_ptr<std::deque<Id>>>* pending,
                                        KnownLiveTree::Listing* listed,
                                        std::unique_ptr<WalkedDir>* walked,
                                        const struct stat* listed_ahead = nullptr,
                                        const std::optional<Id>* parent_packs = nullptr) {
    struct stat st;
    if (listed_ahead)
      st = *listed_ahead;
    else if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return Skip(path, Status::FromErrno(errno, "stat"));
    if (listed) listed->emplace(name, st);
    Node node;
    node.name = name;
    FillMeta(st, &node);
    Selection::Verdict verdict = Selection::Verdict::kInclude;
    if (path.size() > root_.size())  // below a backed-up path: the selection applies
      verdict = selection_.Check(std::string_view(path).substr(root_.size() + 1), st, root_dev_);
    if (verdict == Selection::Verdict::kExclude) {
      ++excluded_;
      return std::optional<Node>();
    }
    if (verdict == Selection::Verdict::kEmptyDir) {
      if (reporter_) reporter_->Notice(path, "on another file system: stored empty (--one-file-system)");
      node.type = NodeType::kDir;
      node.size = 0;
      ASSIGN_OR_RETURN(node.subtree, SaveTree(Tree{}));
      ++stats_.dirs;
      return std::optional<Node>(node);
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlinkat(dirfd, name.c_str(), target.data(), target.size());
      if (n < 0) return Skip(path, Status::FromErrno(errno, "readlink"));
      target.resize(static_cast<size_t>(n));
      node.type = NodeType::kSymlink;
      node.link_target = target;
      node.size = 0;
      ++stats_.symlinks;
      return std::optional<Node>(node);
    }
    if (S_ISDIR(st.st_mode)) {
      int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return Skip(path, Status::FromErrno(errno, "open directory"));
      FdCloser closer(fd);
      if (path.size() > root_.size() && selection_.HasExcludeMarker(fd)) {
        ++excluded_;
        return std::optional<Node>();
      }
      node.type = NodeType::kDir;
      node.size = 0;
      TreeAhead::Loaded parent_tree;
      if (parent && parent->type == NodeType::kDir) {
        Result<TreeAhead::Loaded> t = TreeAhead::Load(repo_, parent_trees_.get(), parent->subtree);
        if (t.ok()) parent_tree = std::move(t).value();  // unreadable parent: just read everything
      }
      ASSIGN_OR_RETURN(DirResult saved, SaveDir(fd, path, parent_tree));
      node.subtree = saved.id;
      *walked = std::move(saved.walked);
      ++stats_.dirs;
      return std::optional<Node>(node);
    }
    if (!S_ISREG(st.st_mode)) {
      if (reporter_) reporter_->Notice(path, "not a file, directory or symlink: not backed up");
      return std::optional<Node>();
    }
    node.type = NodeType::kFile;
    // Decided on the lstat above, before opening: an unchanged file is not read, so opening it
    // would prove nothing, and open + fstat + close of every file was most of the system time of
    // an incremental snapshot (and of the snapshot taken before a rollback).
    ASSIGN_OR_RETURN(bool reused, ReuseUnchanged(parent, parent_packs, &node));
    if (reused) {
      ++stats_.files;
      stats_.bytes_raw += node.size;
      ++files_unchanged_;
      bytes_done_ += node.size;
      if (reporter_) reporter_->Progress(bytes_done_, path);
      return std::optional<Node>(node);
    }
    int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM)  // O_NOATIME needs ownership
      fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Skip(path, Status::FromErrno(errno, "open"));
    FdCloser closer(fd);
    struct stat before;
    if (fstat(fd, &before) != 0 || !S_ISREG(before.st_mode))
      return Skip(path, Status::IOError("changed type while being opened"));
    FillMeta(before, &node);  // what is read is the file as opened
    if (before_read_) before_read_(path);
    pending->push_back(std::make_unique<std::deque<Id>>());
    FdReader reader(fd);
    Result<uint64_t> size = SaveContent(&reader, pending->back().get(), path);
    if (!size.ok()) {
      if (!pool_.error().ok()) return size.status();  // a repository failure, not this file's
      // Tasks may still fill its slots: keep the deque alive until the pool is done.
      orphaned_.push_back(std::move(pending->back()));
      pending->pop_back();
      return Skip(path, size.status());
    }
    node.size = *size;
    struct stat after;
    if (fstat(fd, &after) == 0 &&
        (after.st_size != before.st_size || ToNs(after.st_mtim) != ToNs(before.st_mtim) ||
         static_cast<uint64_t>(before.st_size) != *size)) {
      node.flags |= kNodeChangedDuringRead;
      ++changed_during_read_;
      if (reporter_)
        reporter_->Notice(path, "changed while it was being read (size or mtime moved): stored as "
                                "read and flagged; its content may be inconsistent");
    }
    ++stats_.files;
    return std::optional<Node>(node);
  }

  // A file whose size, mtime, ctime and inode match the parent snapshot's node is not read
  // again: its content list is taken over, once every blob in it is known to be stored.
  // `packs`, if not null, holds the lookups TreeAhead made for the parent's content (nullopt:
  // not stored then, or not looked up): those are trusted, the others looked up now.
  Result<bool> ReuseUnchanged(const Node* parent, const std::optional<Id>* packs, Node* node) {
    if (!parent || parent->type != NodeType::kFile || parent->size != node->size ||
        parent->mtime_ns != node->mtime_ns || parent->ctime_ns != node->ctime_ns ||
        parent->inode != node->inode || parent->device != node->device ||
        (parent->flags & kNodeChangedDuringRead))
      return false;
    for (size_t i = 0; i < parent->content.size(); ++i) {
      if (packs && packs[i]) {
        repo_->NoteDedupedPack(*packs[i]);
        continue;
      }
      ASSIGN_OR_RETURN(bool stored, repo_->HasBlob(BlobType::kData, parent->content[i]));
      if (!stored) return false;
    }
    node->content = parent->content;
    return true;
  }

  // `parent`: the folder's tree in the parent snapshot, if any (tree null otherwise).
  Result<DirResult> SaveDir(int dirfd, const std::string& path, const TreeAhead::Loaded& parent) {
    auto dir = std::make_unique<WalkedDir>();
    Status s = WalkDir(dirfd, path, parent, dir.get());
    if (!s.ok()) {
      // Pool tasks may still fill the slots of its files: keep them alive until the pool is done.
      Orphan(dir.get());
      std::erase_if(walked_, [&](WalkedDir* d) { return Within(dir.get(), d); });
      return s;
    }
    bool ready = dir->pending.empty();
    for (const auto& sub : dir->subdirs) ready = ready && sub.second->id.has_value();
    if (ready) {
      RETURN_IF_ERROR(SaveWalkedDir(dir.get()));
      return DirResult{*dir->id, nullptr};
    }
    walked_.push_back(dir.get());
    if (walked_.size() >= kMaxWalkedDirs) {
      RETURN_IF_ERROR(SaveWalked());
      return DirResult{*dir->id, nullptr};
    }
    return DirResult{Id(), std::move(dir)};
  }

  // A listing made ahead is used only if the folder open here is the one listed, no name in it
  // has changed since (its mtime and ctime, which move with every name added, removed or renamed,
  // are the same and older than the listing, so a change in the same clock tick cannot hide),
  // and it is at most a second old: what the lister stat-ed is then as current as the walk's own
  // stat would have been, give or take that second.
  static bool StillAsListedAhead(int dirfd, const ListingAhead::Listing& ahead) {
    struct stat here;
    if (fstat(dirfd, &here) != 0 || here.st_dev != ahead.dir.st_dev || here.st_ino != ahead.dir.st_ino ||
        ToNs(here.st_mtim) != ToNs(ahead.dir.st_mtim) || ToNs(here.st_ctim) != ToNs(ahead.dir.st_ctim))
      return false;
    if (ChangedSince(here.st_mtim, ahead.listed_at_ns) || ChangedSince(here.st_ctim, ahead.listed_at_ns)) return false;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    return ToNs(now) - ahead.listed_at_ns <= kMaxListingAgeNs;
  }
  static constexpr int64_t kMaxListingAgeNs = 1'000'000'000;

  Status WalkDir(int dirfd, const std::string& path, const TreeAhead::Loaded& parent_loaded, WalkedDir* dir) {
    const Tree* parent = parent_loaded.tree.get();
    // Where each parent node's lookups start in parent_loaded.data_packs (files only).
    std::vector<size_t> packs_at;
    if (parent && !parent_loaded.data_packs.empty()) {
      size_t at = 0;
      packs_at.reserve(parent->nodes.size());
      for (const Node& n : parent->nodes) {
        packs_at.push_back(at);
        if (n.type == NodeType::kFile) at += n.content.size();
      }
      if (at != parent_loaded.data_packs.size()) packs_at.clear();  // not the lookups of this tree
    }
    // Listed ahead on another thread, if it is still the folder open here.
    std::unique_ptr<ListingAhead::Listing> ahead = listing_ahead_ ? listing_ahead_->Take(path) : nullptr;
    if (ahead && !StillAsListedAhead(dirfd, *ahead)) ahead.reset();
    std::vector<std::string> names;
    if (ahead) {
      if (record_live_tree_) {
        dir->listed_at = ahead->listed_at_ns;
        dir->dir_st = ahead->dir;
        dir->listing.emplace();
      }
      for (const ListingAhead::Entry& e : ahead->entries) names.push_back(e.name);
    } else if (record_live_tree_) {
      struct timespec now;
      clock_gettime(CLOCK_REALTIME_COARSE, &now);
      dir->listed_at = ToNs(now);
      if (fstat(dirfd, &dir->dir_st) == 0) dir->listing.emplace();
    }
    if (!ahead) {
      int fd = dup(dirfd);
      if (fd < 0) return Status::FromErrno(errno, "dup");
      DIR* d = fdopendir(fd);
      if (!d) {
        close(fd);
        return Status::FromErrno(errno, "opendir " + path);
      }
      errno = 0;
      while (struct dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
        errno = 0;
      }
      int err = errno;
      closedir(d);
      if (err) {
        Skip(path, Status::FromErrno(err, "read directory")).status().IgnoreError();
        dir->listing.reset();
      }
    }
    if (!ahead) std::sort(names.begin(), names.end());  // a listing ahead comes sorted
    size_t p = 0;  // parent nodes are sorted by name too: walk both lists together
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string& name = names[i];
      const Node* prev = nullptr;
      const std::optional<Id>* prev_packs = nullptr;
      if (parent) {
        while (p < parent->nodes.size() && parent->nodes[p].name < name) ++p;
        if (p < parent->nodes.size() && parent->nodes[p].name == name) {
          prev = &parent->nodes[p];
          if (!packs_at.empty() && prev->type == NodeType::kFile) prev_packs = parent_loaded.data_packs.data() + packs_at[p];
        }
      }
      size_t before = dir->pending.size();
      size_t listed = dir->listing ? dir->listing->size() : 0;
      std::unique_ptr<WalkedDir> sub;
      ASSIGN_OR_RETURN(std::optional<Node> node,
                       SaveEntry(dirfd, name, path + "/" + name, prev, &dir->pending,
                                 dir->listing ? &*dir->listing : nullptr, &sub,
                                 ahead ? &ahead->entries[i].st : nullptr, prev_packs));
      if (dir->listing && dir->listing->size() == listed) dir->listing.reset();  // not stat-ed: incomplete
      if (!node) continue;
      if (dir->pending.size() > before) dir->pending_node.push_back(dir->tree.nodes.size());
      if (sub) dir->subdirs.emplace_back(dir->tree.nodes.size(), std::move(sub));
      dir->tree.nodes.push_back(std::move(*node));
    }
    return Status::OK();
  }

  // Saves a walked folder's tree. REQUIRES: the pool has finished its files, and its subfolders
  // are saved.
  Status SaveWalkedDir(WalkedDir* dir) {
    for (size_t i = 0; i < dir->pending.size(); ++i)
      dir->tree.nodes[dir->pending_node[i]].content.assign(dir->pending[i]->begin(), dir->pending[i]->end());
    for (auto& [index, sub] : dir->subdirs) dir->tree.nodes[index].subtree = *sub->id;
    dir->subdirs.clear();
    dir->pending.clear();
    if (record_live_tree_) {
      for (const Node& node : dir->tree.nodes) record_live_tree_->AddFile(node);
      if (dir->listing) record_live_tree_->AddListing(dir->dir_st, dir->listed_at, std::move(*dir->listing));
    }
    ASSIGN_OR_RETURN(dir->id, SaveTree(std::move(dir->tree)));
    return Status::OK();
  }

  // Waits for the pool, then saves every walked folder, each after its subfolders.
  Status SaveWalked() {
    RETURN_IF_ERROR(Drain());
    for (WalkedDir* dir : walked_) RETURN_IF_ERROR(SaveWalkedDir(dir));
    walked_.clear();
    return Status::OK();
  }

  void Orphan(WalkedDir* dir) {
    for (auto& p : dir->pending) orphaned_.push_back(std::move(p));
    dir->pending.clear();
    for (auto& sub : dir->subdirs) Orphan(sub.second.get());
  }

  // True if `d` is `root` or a folder below it.
  static bool Within(const WalkedDir* root, const WalkedDir* d) {
    if (root == d) return true;
    for (const auto& sub : root->subdirs)
      if (Within(sub.second.get(), d)) return true;
    return false;
  }

  Status Finish() {
    RETURN_IF_ERROR(Drain());
    return repo_->Flush();
  }

  Result<Tree> RootFromPaths(const std::vector<std::string>& paths, const Tree* parent_root) {
    Tree root;
    std::set<std::string> seen;
    for (const std::string& p : paths) {
      std::string s = AbsolutePath(p);
      std::filesystem::path norm(s);
      std::string name = norm.filename().string();
      if (name.empty() || s == "/")
        return Status::InvalidArgument("cannot back up '/' as a whole; name the folders under it");
      if (!seen.insert(name).second)
        return Status::InvalidArgument("two paths end in the same name '" + name +
                                       "'; back them up in separate snapshots");
      std::string folder = norm.parent_path().string();
      int dirfd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0) return Status::FromErrno(errno, "open " + folder);
      FdCloser closer(dirfd);
      struct stat st;
      if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return Status::FromErrno(errno, s);
      root_ = s;
      root_dev_ = st.st_dev;
      // A folder's tree is listed ahead of the walk; stopped before the next path.
      if (S_ISDIR(st.st_mode)) listing_ahead_ = std::make_unique<ListingAhead>(s, &selection_, root_dev_);
      struct ListingAheadStop {
        std::unique_ptr<ListingAhead>* p;
        ~ListingAheadStop() { p->reset(); }
      } stop_listing{&listing_ahead_};
      std::vector<std::unique_ptr<std::deque<Id>>> pending;
      const Node* prev = nullptr;
      if (parent_root)
        for (const Node& n : parent_root->nodes)
          if (n.name == name) prev = &n;
      std::unique_ptr<WalkedDir> walked;
      Result<std::optional<Node>> saved = SaveEntry(dirfd, name, s, prev, &pending, nullptr, &walked);
      if (!saved.ok()) {
        // Pool tasks may still fill the file's slots: keep them alive until the pool is done.
        for (auto& p : pending) orphaned_.push_back(std::move(p));
        return saved.status();
      }
      std::optional<Node> node = std::move(saved).value();
      RETURN_IF_ERROR(SaveWalked());
      if (!node) continue;
      if (!pending.empty()) node->content.assign(pending[0]->begin(), pending[0]->end());
      if (walked) node->subtree = *walked->id;
      if (record_live_tree_) record_live_tree_->AddFile(*node);
      root.nodes.push_back(std::move(*node));
    }
    return root;
  }

  // The parent's trees are loaded, and their blobs looked up, on another thread while the walk
  // runs (TreeAhead).
  void StartPrefetch(const Tree& parent_root) {
    parent_trees_ = std::make_unique<TreeAhead>(repo_, parent_root, /*look_up_data=*/true);
  }
  void StopPrefetch() { parent_trees_.reset(); }

  void CountFile() { ++stats_.files; }
  uint64_t files_unchanged() const { return files_unchanged_; }
  uint64_t excluded() const { return excluded_; }
  uint64_t changed_during_read() const { return changed_during_read_; }

  SnapshotStats Stats() {
    SnapshotStats s = stats_;
    s.blobs_added = blobs_added_.load();
    s.bytes_added_raw = bytes_added_raw_.load();
    s.bytes_added_stored = bytes_added_stored_.load();
    return s;
  }

 private:
  Result<std::optional<Node>> Skip(const std::string& path, const Status& status) {
    ++stats_.errors;
    if (reporter_) reporter_->Problem(path, status);
    return std::optional<Node>();
  }

  void FillMeta(const struct stat& st, Node* node) {
    node->mode = st.st_mode & 07777;
    node->uid = st.st_uid;
    node->gid = st.st_gid;
    node->user = UserName(st.st_uid);
    node->group = GroupName(st.st_gid);
    node->mtime_ns = ToNs(st.st_mtim);
    node->ctime_ns = ToNs(st.st_ctim);
    node->inode = st.st_ino;
    node->device = st.st_dev;
    node->size = static_cast<uint64_t>(st.st_size);
  }

  std::string UserName(uid_t uid) {
    auto it = users_.find(uid);
    if (it != users_.end()) return it->second;
    struct passwd pw, *res = nullptr;
    char buf[4096];
    std::string name = getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res ? pw.pw_name : "";
    return users_[uid] = name;
  }
  std::string GroupName(gid_t gid) {
    auto it = groups_.find(gid);
    if (it != groups_.end()) return it->second;
    struct group gr, *res = nullptr;
    char buf[4096];
    std::string name = getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res ? gr.gr_name : "";
    return groups_[gid] = name;
  }

  Repository* repo_;
  Reporter* reporter_;
  const Selection& selection_;
  std::function<void(const std::string&)> before_read_;
  KnownLiveTree* record_live_tree_;  // may be null
  std::unique_ptr<TreeAhead> parent_trees_;       // null without a parent
  std::unique_ptr<ListingAhead> listing_ahead_;   // for the path being walked, if a folder
  std::string root_;  // the backed-up path being walked, absolute
  dev_t root_dev_ = 0;
  uint64_t excluded_ = 0, changed_during_read_ = 0;
  int threads_;
  SnapshotStats stats_;
  std::atomic<uint64_t> blobs_added_{0}, bytes_added_raw_{0}, bytes_added_stored_{0};
  uint64_t bytes_done_ = 0;
  uint64_t files_unchanged_ = 0;
  Bytes chunk_buffer_;  // the chunker's window, reused for every file
  std::shared_ptr<Batch> batch_;  // being filled; null until the first chunk
  std::mutex free_batches_mu_;
  std::vector<std::shared_ptr<Batch>> free_batches_;  // GUARDED_BY(free_batches_mu_)
  std::map<uid_t, std::string> users_;
  std::map<gid_t, std::string> groups_;
  std::vector<std::unique_ptr<std::deque<Id>>> orphaned_;
  std::vector<WalkedDir*> walked_;  // walked, not saved; owned by their parents' WalkedDir or DirResult
  TaskGroup pool_;  // last: destroyed (joined) first, while the rest is still alive
};

// The parent is the newest complete-or-partial snapshot of the same host and paths.
Result<std::optional<Snapshot>> FindParent(Repository* repo, const BackupOptions& options,
                                           const Snapshot& snap) {
  if (options.force) return std::optional<Snapshot>();
  if (!options.parent.empty()) {
    ASSIGN_OR_RETURN(SnapshotRef ref, repo->FindSnapshot(options.parent));
    std::optional<Snapshot> found(ref.snapshot);
    found->parent = ref.id;  // carried to the caller: the id of the parent itself
    return found;
  }
  ASSIGN_OR_RETURN(std::vector<SnapshotRef> all, repo->ListSnapshots());
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const Snapshot& s = it->snapshot;
    if (s.host == snap.host && s.paths == snap.paths && !s.is_stream()) {
      std::optional<Snapshot> found(s);
      found->parent = it->id;  // carried to the caller: the id of the parent itself
      return found;
    }
  }
  return std::optional<Snapshot>();
}

Snapshot NewSnapshot(const BackupOptions& options, const std::string& default_kind) {
  Snapshot s;
  s.time_ns = options.time_ns ? options.time_ns : NowNs();
  s.host = options.host.empty() ? Hostname() : options.host;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res) s.user = pw.pw_name;
  s.tags = options.tags;
  std::sort(s.tags.begin(), s.tags.end());
  s.tags.erase(std::unique(s.tags.begin(), s.tags.end()), s.tags.end());
  s.kind = options.kind.empty() ? default_kind : options.kind;
  return s;
}

Result<BackupResult> Commit(Repository* repo, Archiver* archiver, Snapshot snap) {
  RETURN_IF_ERROR(archiver->Finish());
  snap.stats = archiver->Stats();
  if (snap.stats.errors) snap.flags |= kSnapshotPartial;
  ASSIGN_OR_RETURN(Id id, repo->SaveSnapshot(snap));
  BackupResult result;
  result.snapshot_id = id;
  result.snapshot = std::move(snap);
  return result;
}

}  // namespace

Result<BackupResult> BackupPaths(Repository* repo, const std::vector<std::string>& paths,
                                 const BackupOptions& options, Reporter* reporter) {
  if (paths.empty()) return Status::InvalidArgument("nothing to back up: no paths given");
  // The ETA needs a total; a side thread finds it while the backup runs.
  std::atomic<bool> stop_scan{false};
  std::thread scanner;
  if (reporter && reporter->WantsProgress()) scanner = std::thread([&] {
    uint64_t total = SelectedFileBytes(paths, options.selection, &stop_scan);
    if (!stop_scan) reporter->Total(total);
  });
  struct Joiner {
    std::thread* t;
    std::atomic<bool>* stop;
    ~Joiner() {
      *stop = true;
      if (t->joinable()) t->join();
    }
  } joiner{&scanner, &stop_scan};
  Snapshot snap = NewSnapshot(options, "files");
  for (const std::string& p : paths) snap.paths.push_back(AbsolutePath(p));
  ASSIGN_OR_RETURN(std::optional<Snapshot> parent, FindParent(repo, options, snap));
  std::optional<Tree> parent_root;
  if (parent) {
    Result<Tree> t = repo->LoadTree(parent->tree);
    if (t.ok()) {
      parent_root = std::move(t).value();
      snap.parent = parent->parent;
    }
  }
  auto archiver = std::make_unique<Archiver>(repo, options, reporter);
  if (parent_root) archiver->StartPrefetch(*parent_root);
  ASSIGN_OR_RETURN(Tree root, archiver->RootFromPaths(paths, parent_root ? &*parent_root : nullptr));
  archiver->StopPrefetch();  // before the commit, which must not overlap other repository use
  ASSIGN_OR_RETURN(snap.tree, archiver->SaveTree(std::move(root)));
  uint64_t unchanged = archiver->files_unchanged();
  uint64_t excluded = archiver->excluded(), changed = archiver->changed_during_read();
  ASSIGN_OR_RETURN(BackupResult result, Commit(repo, archiver.get(), std::move(snap)));
  result.files_unchanged = unchanged;
  result.excluded = excluded;
  result.changed_during_read = changed;
  return result;
}

Result<BackupResult> BackupStream(Repository* repo, Reader* input, const std::string& name,
                                  const BackupOptions& options, Reporter* reporter,
                                  const std::function<Status()>& producer_status) {
  if (!IsValidNodeName(name))
    return Status::InvalidArgument("invalid stream name '" + name + "' (a file name, no '/')");
  Snapshot snap = NewSnapshot(options, "stream");
  snap.stdin_name = name;
  auto archiver = std::make_unique<Archiver>(repo, options, reporter);
  std::deque<Id> ids;
  Result<uint64_t> size = archiver->SaveContent(input, &ids, name);
  Status pool = archiver->Finish();
  if (!size.ok()) return size.status().WithContext("read input");
  RETURN_IF_ERROR(pool);
  if (producer_status) RETURN_IF_ERROR(producer_status());
  Node node;
  node.name = name;
  node.type = NodeType::kFile;
  node.mode = 0600;
  node.uid = geteuid();
  node.gid = getegid();
  node.mtime_ns = node.ctime_ns = snap.time_ns;
  node.size = *size;
  node.content.assign(ids.begin(), ids.end());
  archiver->CountFile();
  Tree root;
  root.nodes.push_back(std::move(node));
  ASSIGN_OR_RETURN(snap.tree, archiver->SaveTree(std::move(root)));
  return Commit(repo, archiver.get(), std::move(snap));
}

}  // namespace cairn
