// Repository: the engine every command works through. It owns the backend,
// the master key, the local index, and the packs a writing session is filling.
//
// Write ordering (docs/FORMAT.md "Write ordering"), which keeps every reader
// consistent whatever happens to the writer:
//   1. a pack is written whole and durable before anything names it;
//   2. an index file naming packs is written after those packs;
//   3. a snapshot is written after Flush() made every blob it references durable
//      and indexed.
// Writers only add objects with fresh names, so any number may run at once.
//
// Thread safety: SaveBlob/HasBlob/AddSealed/LoadBlob/FindBlob/LoadTree may be
// called from many threads; Flush, SaveSnapshot, SyncIndex and RebuildIndex
// must not run concurrently with saves.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chunker/fastcdc.h"
#include "common/bytes.h"
#include "common/status.h"
#include "common/task_group.h"
#include "repo/config.h"
#include "repo/index.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace cairn {

struct InitOptions {
  bool encrypt = true;
  ChunkerParams chunker = ChunkerParams::Default();
  uint64_t pack_size = kDefaultPackSize;
  int compression_level = kDefaultCompressionLevel;
  ScryptParams scrypt;
};

struct OpenOptions {
  // Folder for local derived data (the index database lives in <cache_dir>/<repo id>/index).
  std::string cache_dir;
  // When the session began, for the prune check before commits (0: now). Tests set it to play
  // sessions that span a grace period.
  int64_t start_time_ns = 0;
};

struct SnapshotRef {
  Id id;
  Snapshot snapshot;
};

struct SaveResult {
  Id id;
  bool added = false;          // false: deduplicated
  uint64_t stored_bytes = 0;   // envelope bytes added to a pack
};

struct RebuildStats {
  uint64_t index_files = 0, packs = 0, blobs = 0, index_files_written = 0;
  std::vector<std::string> problems;  // unreadable packs or index files, skipped
  std::vector<std::string> repaired;  // damaged index files replaced from pack trailers
};

class Repository {
 public:
  // Writes config and the first key file into an empty backend.
  static Status Init(Backend* backend, std::string_view password, const InitOptions& options);
  // Opens a repository: reads config, unlocks the master key, brings the local index up to date.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<Backend> backend,
                                                  std::string_view password,
                                                  const OpenOptions& options);
  // Opens with a master key already at hand (a cached one). The config's MAC proves the key is
  // this repository's: kCorruption otherwise.
  static Result<std::unique_ptr<Repository>> OpenWithKey(std::unique_ptr<Backend> backend,
                                                         const MasterKey& key,
                                                         const OpenOptions& options);
  ~Repository();

  const RepoConfig& config() const { return config_; }
  Backend* backend() { return backend_.get(); }
  const IdHasher& hasher() const { return *hasher_; }
  const GearTable& gear() const { return gear_; }
  const Sealer& sealer() const { return *sealer_; }
  Index* index() { return index_.get(); }
  // Problems met while opening that did not stop it (e.g. an unreadable index file).
  const std::vector<std::string>& warnings() const { return warnings_; }

  // --- writing ---
  // True if a blob with this id is stored, or is being stored by this session.
  Result<bool> HasBlob(BlobType type, const Id& id);
  // Queues a sealed blob into the open pack of its type. Returns false (and drops it) if the id
  // is already stored or queued. Writes the pack to the backend when it reaches the target size.
  Result<bool> AddSealed(SealedBlob blob);
  // Notes that this session relies on a pack it found a blob in (as HasBlob does): for lookups
  // made elsewhere (TreeAhead, for backup).
  void NoteDedupedPack(const Id& pack);
  // Hash, dedup check, compress, seal, add.
  Result<SaveResult> SaveBlob(BlobType type, ByteView plaintext);
  // Writes the open packs and an index file for every pack of this session, durably.
  Status Flush();
  // Seals and writes a snapshot. REQUIRES: Flush() since the last save.
  Result<Id> SaveSnapshot(const Snapshot& snapshot);
  // Removes a snapshot object. Its data stays until prune reclaims what nothing references.
  Status ForgetSnapshot(const Id& id);
  // When this session opened the repository; SaveSnapshot refuses to commit if a prune swept
  // packs it marked after this time (docs/FORMAT.md "Write ordering", rule 8).
  int64_t start_time_ns() const { return start_time_ns_; }

  // --- reading ---
  Result<BlobLocation> FindBlob(BlobType type, const Id& id);
  // Loads, authenticates, decompresses and re-hashes a blob.
  Result<Bytes> LoadBlob(BlobType type, const Id& id);
  Result<Tree> LoadTree(const Id& id);
  // All snapshots, oldest first. Unreadable ones are reported in warnings() and skipped.
  Result<std::vector<SnapshotRef>> ListSnapshots();
  // Snapshot objects the last ListSnapshots could not read: name -> problem.
  const std::map<std::string, std::string>& damaged_snapshots() const { return damaged_snapshots_; }
  // "latest" or a unique prefix of a snapshot id.
  Result<SnapshotRef> FindSnapshot(std::string_view ref);

  // --- index maintenance ---
  // Absorbs index files written since the index was last brought up to date.
  Status SyncIndex();
  // Rebuilds the local index from the index files, or from every pack's trailer (writing an
  // index file for packs no index file names).
  Result<RebuildStats> RebuildIndex(bool from_packs);
  // Reads, checks (name = SHA-256 of the bytes, authentication) and decodes one index file.
  Result<std::vector<IndexedPack>> ReadIndexFile(const std::string& name);
  // Writes an index file naming durable packs and absorbs it into the local index; returns its name.
  Result<Id> WriteIndexFile(std::vector<IndexedPack> packs);

 private:
  Repository() = default;
  static Result<std::unique_ptr<Repository>> OpenConfigured(std::unique_ptr<Backend> backend,
                                                            ByteView config_bytes,
                                                            const MasterKey& key,
                                                            const OpenOptions& options);
  struct Packer;
  Status FinishPack(Packer* packer, std::unique_lock<std::mutex>& lock);
  void UploadPack(Bytes bytes, std::vector<BlobEntry> entries);
  Status CheckNoSweepSinceStart();
  Status IndexDedupedPacksMarkedSinceStart();
  Status LoadIndexFile(const std::string& name);

  RepoConfig config_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<IdHasher> hasher_;
  std::unique_ptr<Sealer> sealer_;
  Key32 id_key_{};
  GearTable gear_;
  std::unique_ptr<Index> index_;
  std::vector<std::string> warnings_;
  int64_t start_time_ns_ = 0;
  std::map<std::string, std::string> damaged_snapshots_;  // name -> problem, from ListSnapshots
  std::map<std::string, SnapshotRef> read_snapshots_;     // name -> decoded, by ListSnapshots

  std::mutex mu_;
  std::condition_variable uploads_done_;
  std::unique_ptr<Packer> packers_[2];                  // GUARDED_BY(mu_), per BlobType
  std::unordered_set<Id> queued_[2];                    // GUARDED_BY(mu_): in open or uploading packs
  std::unordered_map<Id, BlobLocation> unindexed_[2];   // GUARDED_BY(mu_): in durable packs
  std::vector<IndexedPack> unindexed_packs_;            // GUARDED_BY(mu_)
  std::unordered_set<Id> deduped_packs_;                // GUARDED_BY(mu_): indexed packs HasBlob relied on
  int uploads_in_flight_ = 0;                           // GUARDED_BY(mu_)
  Status sticky_error_;                                 // GUARDED_BY(mu_): a failed pack write
  std::unique_ptr<TaskGroup> uploader_;                 // one thread: hashes and writes packs
};

}  // namespace cairn
