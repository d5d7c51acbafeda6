#include "repo/repository.h"

#include <algorithm>
#include <unordered_set>

#include "common/clock.h"
#include "common/task_group.h"
#include "repo/format.h"
#include "repo/index_file.h"
#include "repo/prune_record.h"
#include "repo/repair_record.h"

namespace cairn {

namespace {
// Write an index file at least every this many packs, so a long session that is
// killed leaves few packs that only a rebuild from packs can find.
constexpr size_t kPacksPerIndexFile = 16;

int TypeSlot(BlobType t) { return t == BlobType::kTree ? 1 : 0; }

ObjectName ConfigName() { return {ObjectType::kConfig, ""}; }
}  // namespace

struct Repository::Packer {
  explicit Packer(size_t reserve) : builder(reserve) {}
  PackBuilder builder;
};

Status Repository::Init(Backend* backend, std::string_view password, const InitOptions& options) {
  RETURN_IF_ERROR(options.chunker.Validate());
  if (options.pack_size < (1u << 20)) return Status::InvalidArgument("pack size below 1 MiB");
  Result<uint64_t> existing = backend->Stat(ConfigName());
  if (existing.ok()) return Status::AlreadyExists("a repository already exists at " + backend->Location());
  MasterKey key = MasterKey::Generate();
  RepoConfig config;
  config.version = kFormatVersion;
  config.id = ToHex(RandomBytes(32));
  config.encrypted = options.encrypt;
  config.chunker = options.chunker;
  config.pack_size = options.pack_size;
  config.compression_level = options.compression_level;
  ASSIGN_OR_RETURN(Bytes keyfile, SealKeyFile(key, options.encrypt, password, options.scrypt));
  // The key goes first: a config without a key is an unusable repository, while
  // a key without a config is simply not a repository yet, and init can be retried.
  RETURN_IF_ERROR_CTX(backend->Put({ObjectType::kKey, Sha256(keyfile).Hex()}, keyfile), "write key");
  RETURN_IF_ERROR_CTX(backend->Put(ConfigName(), config.Encode(RepoConfig::MacKey(key.encryption_key))), "write config");
  return Status::OK();
}

namespace {
Result<Bytes> ReadConfigBytes(Backend* backend) {
  Result<Bytes> bytes = backend->Get(ConfigName());
  if (!bytes.ok() && bytes.status().code() == Code::kNotFound)
    return Status::RepoNotFound("no repository at " + backend->Location());
  if (!bytes.ok()) return bytes.status().WithContext("read config");
  return bytes;
}
}  // namespace

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<Backend> backend,
                                                     std::string_view password,
                                                     const OpenOptions& options) {
  ASSIGN_OR_RETURN(Bytes config_bytes, ReadConfigBytes(backend.get()));
  ASSIGN_OR_RETURN(MasterKey key, LoadMasterKey(backend.get(), password));
  return OpenConfigured(std::move(backend), config_bytes, key, options);
}

Result<std::unique_ptr<Repository>> Repository::OpenWithKey(std::unique_ptr<Backend> backend,
                                                            const MasterKey& key,
                                                            const OpenOptions& options) {
  ASSIGN_OR_RETURN(Bytes config_bytes, ReadConfigBytes(backend.get()));
  return OpenConfigured(std::move(backend), config_bytes, key, options);
}

Result<std::unique_ptr<Repository>> Repository::OpenConfigured(std::unique_ptr<Backend> backend,
                                                               ByteView config_bytes,
                                                               const MasterKey& key,
                                                               const OpenOptions& options) {
  std::unique_ptr<Repository> repo(new Repository());
  ASSIGN_OR_RETURN(repo->config_, RepoConfig::Decode(config_bytes));
  RETURN_IF_ERROR(RepoConfig::Verify(config_bytes, RepoConfig::MacKey(key.encryption_key)));
  repo->backend_ = std::move(backend);
  repo->id_key_ = key.id_key;
  repo->hasher_ = std::make_unique<IdHasher>(key.id_key);
  repo->sealer_ = std::make_unique<Sealer>(key.encryption_key, repo->config_.encrypted);
  repo->gear_ = GearTable::FromKey(key.chunker_key);
  // A pack closes once it reaches pack_size, so it ends at most one blob (+ trailer) larger.
  for (auto& p : repo->packers_) p = std::make_unique<Packer>(repo->config_.pack_size + (2u << 20));
  repo->uploader_ = std::make_unique<TaskGroup>(1, 1);
  if (options.cache_dir.empty()) return Status::InvalidArgument("no cache folder for the index");
  ASSIGN_OR_RETURN(repo->index_, Index::Open(options.cache_dir + "/" + repo->config_.id + "/index"));
  repo->start_time_ns_ = options.start_time_ns ? options.start_time_ns : WallNowNs();
  RETURN_IF_ERROR_CTX(repo->SyncIndex(), "index");
  return repo;
}

Repository::~Repository() {
  std::unique_lock<std::mutex> l(mu_);
  uploads_done_.wait(l, [&] { return uploads_in_flight_ == 0; });
  Wipe(id_key_.data(), id_key_.size());
}

// ---------------------------------------------------------------- writing

Result<bool> Repository::HasBlob(BlobType type, const Id& id) {
  ASSIGN_OR_RETURN(std::optional<BlobLocation> loc, index_->Lookup(type, id));
  std::lock_guard<std::mutex> l(mu_);
  int slot = TypeSlot(type);
  if (queued_[slot].count(id) || unindexed_[slot].count(id)) return true;
  // Remembered for the commit: a prune may drop this pack from the index meanwhile.
  if (loc) deduped_packs_.insert(loc->pack);
  return loc.has_value();
}

void Repository::NoteDedupedPack(const Id& pack) {
  std::lock_guard<std::mutex> l(mu_);
  deduped_packs_.insert(pack);
}

Result<bool> Repository::AddSealed(SealedBlob blob) {
  std::unique_lock<std::mutex> l(mu_);
  RETURN_IF_ERROR(sticky_error_);
  int slot = TypeSlot(blob.type);
  if (queued_[slot].count(blob.id) || unindexed_[slot].count(blob.id)) return false;
  queued_[slot].insert(blob.id);
  Packer* packer = packers_[slot].get();
  packer->builder.Add(blob);
  if (packer->builder.size_bytes() >= config_.pack_size) RETURN_IF_ERROR(FinishPack(packer, l));
  return true;
}

Result<SaveResult> Repository::SaveBlob(BlobType type, ByteView plaintext) {
  // Readers refuse larger blobs (docs/FORMAT.md "Limits"), so never write one.
  if (plaintext.size() > kMaxBlobRawSize)
    return Status::InvalidArgument(std::string(type == BlobType::kTree ? "directory listing" : "blob") +
                                   " of " + std::to_string(plaintext.size()) +
                                   " bytes exceeds the format's limit of " +
                                   std::to_string(kMaxBlobRawSize) + " bytes");
  SaveResult r;
  r.id = hasher_->Hash(plaintext);
  ASSIGN_OR_RETURN(bool known, HasBlob(type, r.id));
  if (known) return r;
  SealedBlob sealed = SealBlob(type, r.id, plaintext, config_.compression_level, *sealer_);
  uint64_t size = sealed.envelope.size();
  ASSIGN_OR_RETURN(r.added, AddSealed(std::move(sealed)));
  if (r.added) r.stored_bytes = size;
  return r;
}

// Called with `lock` held. Hands the finished pack to the uploader thread, so this saver goes on
// compressing while the pack is hashed, written and synced. Submit blocks while another pack is
// already waiting, which bounds memory to the open packs plus two.
Status Repository::FinishPack(Packer* packer, std::unique_lock<std::mutex>& lock) {
  auto entries = std::make_shared<std::vector<BlobEntry>>(packer->builder.entries());
  auto bytes = std::make_shared<Bytes>(packer->builder.Finish(*sealer_));
  ++uploads_in_flight_;
  lock.unlock();
  uploader_->Submit([this, entries, bytes] {
    UploadPack(std::move(*bytes), std::move(*entries));
    return Status::OK();
  });
  lock.lock();
  return sticky_error_;
}

// Runs on the uploader thread.
void Repository::UploadPack(Bytes bytes, std::vector<BlobEntry> entries) {
  Id pack_id = Sha256(bytes);
  Status put = backend_->Put({ObjectType::kData, pack_id.Hex()}, bytes);
  std::unique_lock<std::mutex> lock(mu_);
  for (const BlobEntry& e : entries) queued_[TypeSlot(e.type)].erase(e.id);
  if (!put.ok()) {
    if (sticky_error_.ok()) sticky_error_ = put.WithContext("write pack " + pack_id.ShortHex());
  } else {
    for (const BlobEntry& e : entries) unindexed_[TypeSlot(e.type)][e.id] = BlobLocation{pack_id, e};
    unindexed_packs_.push_back(IndexedPack{pack_id, bytes.size(), std::move(entries)});
    if (unindexed_packs_.size() >= kPacksPerIndexFile) {
      std::vector<IndexedPack> packs = std::move(unindexed_packs_);
      unindexed_packs_.clear();
      lock.unlock();
      Status s = WriteIndexFile(std::move(packs)).status();
      lock.lock();
      if (!s.ok() && sticky_error_.ok()) sticky_error_ = s;
    }
  }
  --uploads_in_flight_;
  uploads_done_.notify_all();
}

// Writes one index file, then moves its blobs from memory into the local index.
Result<Id> Repository::WriteIndexFile(std::vector<IndexedPack> packs) {
  Bytes sealed;
  sealer_->Seal(EncodeIndexFile(packs), SealDomain::kIndexFile, &sealed);
  Id index_id = Sha256(sealed);
  RETURN_IF_ERROR_CTX(backend_->Put({ObjectType::kIndex, index_id.Hex()}, sealed),
                      "write index file");
  RETURN_IF_ERROR(index_->AddIndexFile(index_id, packs));
  std::lock_guard<std::mutex> l(mu_);
  for (const IndexedPack& p : packs)
    for (const BlobEntry& e : p.blobs) unindexed_[TypeSlot(e.type)].erase(e.id);
  return index_id;
}

Status Repository::Flush() {
  std::unique_lock<std::mutex> l(mu_);
  uploads_done_.wait(l, [&] { return uploads_in_flight_ == 0; });
  RETURN_IF_ERROR(sticky_error_);
  for (auto& packer : packers_) {
    if (!packer->builder.empty()) RETURN_IF_ERROR(FinishPack(packer.get(), l));
    uploads_done_.wait(l, [&] { return uploads_in_flight_ == 0; });
  }
  RETURN_IF_ERROR(sticky_error_);
  if (unindexed_packs_.empty()) return Status::OK();
  std::vector<IndexedPack> packs = std::move(unindexed_packs_);
  unindexed_packs_.clear();
  l.unlock();
  Status s = WriteIndexFile(std::move(packs)).status();
  if (!s.ok()) {
    std::lock_guard<std::mutex> g(mu_);
    if (sticky_error_.ok()) sticky_error_ = s;
  }
  return s;
}

Result<Id> Repository::SaveSnapshot(const Snapshot& snapshot) {
  {
    std::lock_guard<std::mutex> l(mu_);
    RETURN_IF_ERROR(sticky_error_);
    for (int slot = 0; slot < 2; ++slot)
      if (!packers_[slot]->builder.empty() || !unindexed_packs_.empty())
        return Status::InvalidArgument("SaveSnapshot before Flush");
  }
  RETURN_IF_ERROR(IndexDedupedPacksMarkedSinceStart());
  RETURN_IF_ERROR(CheckNoSweepSinceStart());
  Bytes sealed;
  sealer_->Seal(EncodeSnapshot(snapshot), SealDomain::kSnapshot, &sealed);
  Id id = Sha256(sealed);
  RETURN_IF_ERROR_CTX(backend_->Put({ObjectType::kSnapshot, id.Hex()}, sealed), "write snapshot");
  // The index's new entries go to disk while the command goes on (a rollback restores next).
  index_->PersistSoon();
  return id;
}

// A prune that marked packs after this session opened the index has dropped them from the index
// files, and this session may have deduplicated against them: its snapshot would reference
// blobs no index file names until the sweep indexes them again (a grace period later), and a
// restore meanwhile would not find them. So before committing, the session names those packs
// in an index file of its own (rule 4 of docs/FORMAT.md section 13). A sweep that lists index
// files after this write keeps the packs; one that listed them before left its sweep marker
// before that, and CheckNoSweepSinceStart, which runs after this, refuses the commit.
Status Repository::IndexDedupedPacksMarkedSinceStart() {
  constexpr int64_t kClockSkewNs = 3600ll * 1'000'000'000;
  std::unordered_set<Id> used;
  {
    std::lock_guard<std::mutex> l(mu_);
    used = deduped_packs_;
  }
  if (used.empty()) return Status::OK();
  std::vector<std::string> names;
  RETURN_IF_ERROR_CTX(backend_->List(ObjectType::kPrune, [&](const std::string& name, uint64_t) {
    names.push_back(name);
    return Status::OK();
  }), "list prune records");
  std::unordered_set<Id> marked_used;
  for (const std::string& name : names) {
    Result<PruneRecord> r = ReadPruneRecord(backend_.get(), *sealer_, name);
    if (r.status().code() == Code::kNotFound) continue;  // swept meanwhile: the marker check decides
    if (!r.ok()) {
      if (r.status().code() != Code::kCorruption) return r.status().WithContext("prune record " + name);
      // Which packs it marked is unknown: name every pack this session relied on.
      marked_used = used;
      break;
    }
    if (r->mark_time_ns <= start_time_ns_ - kClockSkewNs) continue;  // our index never had them
    for (const PrunePack& p : r->packs)
      if (used.count(p.id)) marked_used.insert(p.id);
  }
  if (marked_used.empty()) return Status::OK();
  std::vector<IndexedPack> packs;
  for (const Id& id : marked_used) {
    ObjectName name{ObjectType::kData, id.Hex()};
    Result<uint64_t> size = backend_->Stat(name);
    if (size.status().code() == Code::kNotFound)
      return Status::Locked("a prune deleted pack " + id.ShortHex() + ", which this session deduplicated "
                            "against, so nothing was committed: run the command again");
    RETURN_IF_ERROR_CTX(size.status(), "pack " + id.ShortHex());
    ASSIGN_OR_RETURN_CTX(std::vector<BlobEntry> entries,
                         ReadPackTrailer(*size, *sealer_, [&](uint64_t off, uint64_t len) {
                           return backend_->GetRange(name, off, len);
                         }),
                         "pack " + id.ShortHex());
    packs.push_back({id, *size, std::move(entries)});
  }
  std::sort(packs.begin(), packs.end(), [](const IndexedPack& a, const IndexedPack& b) { return a.pack_id < b.pack_id; });
  return WriteIndexFile(std::move(packs)).status().WithContext("index packs a prune marked");
}

// A prune sweep deletes packs it marked at least a grace period earlier, unless a snapshot
// references them at sweep time. A session that opened the index before such a mark may have
// deduplicated against those packs; if it commits after the sweep, its snapshot could name
// deleted data. Sweep markers (sweeps/<mark time><sweep time>) let it notice and refuse.
Status Repository::CheckNoSweepSinceStart() {
  // Clocks of different machines disagree; treat marks up to an hour before our start as later.
  constexpr int64_t kClockSkewNs = 3600ll * 1'000'000'000;
  // Prune removes sweep markers after 30 days (repo/prune.cc), so no older session can rely on them.
  constexpr int64_t kMaxSessionNs = 29ll * 24 * 3600 * 1'000'000'000;
  if (WallNowNs() - start_time_ns_ > kMaxSessionNs)
    return Status::Locked("this session ran for more than 29 days; prune may have deleted data it "
                          "references, so nothing was committed: run the command again");
  Status conflict;
  RETURN_IF_ERROR_CTX(backend_->List(ObjectType::kSweep, [&](const std::string& name, uint64_t) {
    Result<SweepMarker> m = ParseSweepMarkerName(name);
    if (m.ok() && m->mark_time_ns > start_time_ns_ - kClockSkewNs)
      conflict = Status::Locked("a prune swept packs (marked " + std::to_string(m->mark_time_ns) +
                                " ns) after this session started; its data may reference deleted "
                                "packs, so nothing was committed: run the command again");
    return Status::OK();
  }), "list sweep markers");
  return conflict;
}

Status Repository::ForgetSnapshot(const Id& id) {
  return backend_->Delete({ObjectType::kSnapshot, id.Hex()}).WithContext("forget snapshot " + id.ShortHex());
}

// ---------------------------------------------------------------- reading

Result<BlobLocation> Repository::FindBlob(BlobType type, const Id& id) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& m = unindexed_[TypeSlot(type)];
    auto it = m.find(id);
    if (it != m.end()) return it->second;
  }
  ASSIGN_OR_RETURN(std::optional<BlobLocation> loc, index_->Lookup(type, id));
  if (!loc) {
    return Status::Corruption(std::string(type == BlobType::kTree ? "tree " : "blob ") + id.Hex() +
                              ": not in the index (missing from the repository)");
  }
  return *loc;
}

Result<Bytes> Repository::LoadBlob(BlobType type, const Id& id) {
  ASSIGN_OR_RETURN(BlobLocation loc, FindBlob(type, id));
  std::string pack_name = loc.pack.Hex();
  ASSIGN_OR_RETURN_CTX(Bytes envelope,
                       backend_->GetRange({ObjectType::kData, pack_name}, loc.entry.offset,
                                          loc.entry.length),
                       "blob " + id.Hex() + ": pack " + pack_name);
  Result<Bytes> plain = OpenBlob(loc.entry, envelope, *sealer_, *hasher_);
  if (!plain.ok()) return plain.status().WithContext("pack " + pack_name);
  return plain;
}

Result<Tree> Repository::LoadTree(const Id& id) {
  ASSIGN_OR_RETURN(Bytes plain, LoadBlob(BlobType::kTree, id));
  ASSIGN_OR_RETURN_CTX(Tree tree, DecodeTree(plain), "tree " + id.Hex());
  return tree;
}

Result<std::vector<SnapshotRef>> Repository::ListSnapshots() {
  std::vector<std::string> names;
  RETURN_IF_ERROR(backend_->List(ObjectType::kSnapshot, [&](const std::string& name, uint64_t) {
    names.push_back(name);
    return Status::OK();
  }));
  std::vector<SnapshotRef> out;
  for (const std::string& name : names) {
    // A snapshot object never changes (its name is its hash): one read and decoded before is
    // not read again. The names are always listed afresh.
    if (auto known = read_snapshots_.find(name); known != read_snapshots_.end()) {
      out.push_back(known->second);
      continue;
    }
    Result<SnapshotRef> ref = [&]() -> Result<SnapshotRef> {
      ASSIGN_OR_RETURN(Bytes sealed, backend_->Get({ObjectType::kSnapshot, name}));
      ASSIGN_OR_RETURN(Id id, Id::FromHex(name));
      if (Sha256(sealed) != id) return Status::Corruption("content does not match its name");
      ASSIGN_OR_RETURN(Bytes plain, sealer_->Open(sealed, SealDomain::kSnapshot));
      ASSIGN_OR_RETURN(Snapshot snap, DecodeSnapshot(plain));
      return SnapshotRef{id, std::move(snap)};
    }();
    if (!ref.ok()) {
      if (!damaged_snapshots_.count(name))
        warnings_.push_back("snapshot " + name + ": " + ref.status().message() + " (skipped)");
      damaged_snapshots_[name] = ref.status().message();
      continue;
    }
    read_snapshots_.emplace(name, *ref);
    out.push_back(std::move(ref).value());
  }
  std::sort(out.begin(), out.end(), [](const SnapshotRef& a, const SnapshotRef& b) {
    return a.snapshot.time_ns != b.snapshot.time_ns ? a.snapshot.time_ns < b.snapshot.time_ns
                                                    : a.id < b.id;
  });
  return out;
}

Result<SnapshotRef> Repository::FindSnapshot(std::string_view ref) {
  ASSIGN_OR_RETURN(std::vector<SnapshotRef> all, ListSnapshots());
  if (ref == "latest") {
    if (all.empty() && !damaged_snapshots_.empty())
      return Status::Corruption("no readable snapshot: " + std::to_string(damaged_snapshots_.size()) +
                                " snapshot objects are damaged");
    if (all.empty()) return Status::NotFound("the repository has no snapshots");
    return all.back();
  }
  if (ref.empty() || ref.size() > 64 || ref.find_first_not_of("0123456789abcdef") != ref.npos)
    return Status::InvalidArgument("not a snapshot id or 'latest': " + std::string(ref));
  const SnapshotRef* found = nullptr;
  for (const SnapshotRef& s : all) {
    if (s.id.Hex().compare(0, ref.size(), ref) != 0) continue;
    if (found) return Status::InvalidArgument("snapshot prefix " + std::string(ref) + " is ambiguous");
    found = &s;
  }
  for (const auto& [name, problem] : damaged_snapshots_) {
    if (name.compare(0, ref.size(), ref) != 0) continue;
    if (found) return Status::InvalidArgument("snapshot prefix " + std::string(ref) + " is ambiguous");
    return Status::Corruption("snapshot " + name + " is damaged: " + problem);
  }
  if (!found) return Status::NotFound("no snapshot " + std::string(ref));
  return *found;
}

// ---------------------------------------------------------------- index

Result<std::vector<IndexedPack>> Repository::ReadIndexFile(const std::string& name) {
  ASSIGN_OR_RETURN(Id id, Id::FromHex(name));
  ASSIGN_OR_RETURN(Bytes sealed, backend_->Get({ObjectType::kIndex, name}));
  if (Sha256(sealed) != id) return Status::Corruption("content does not match its name");
  ASSIGN_OR_RETURN(Bytes plain, sealer_->Open(sealed, SealDomain::kIndexFile));
  return DecodeIndexFile(plain);
}

Status Repository::LoadIndexFile(const std::string& name) {
  ASSIGN_OR_RETURN(Id id, Id::FromHex(name));
  ASSIGN_OR_RETURN(std::vector<IndexedPack> packs, ReadIndexFile(name));
  return index_->AddIndexFile(id, packs);
}

Status Repository::SyncIndex() {
  std::unordered_set<std::string> present;
  RETURN_IF_ERROR(backend_->List(ObjectType::kIndex, [&](const std::string& name, uint64_t) {
    present.insert(name);
    return Status::OK();
  }));
  ASSIGN_OR_RETURN(std::vector<Id> known, index_->IndexFiles());
  std::unordered_set<std::string> absorbed;
  bool stale = false;
  for (const Id& id : known) {
    absorbed.insert(id.Hex());
    if (!present.count(id.Hex())) stale = true;
  }
  if (stale) {
    // An index file vanished (prune rewrote the index): its entries may point at
    // deleted packs, so start over from the files that exist now.
    RETURN_IF_ERROR(index_->Clear());
    absorbed.clear();
  }
  std::vector<std::string> todo;
  for (const std::string& name : present)
    if (!absorbed.count(name)) todo.push_back(name);
  std::sort(todo.begin(), todo.end());
  for (const std::string& name : todo) {
    Status s = LoadIndexFile(name);
    if (s.code() == Code::kCorruption) {
      warnings_.push_back("index file " + name + ": " + s.message() +
                          " (skipped; `cairn index rebuild --from-packs` recovers its packs)");
      continue;
    }
    RETURN_IF_ERROR_CTX(s, "index file " + name);
  }
  return Status::OK();
}

Result<RebuildStats> Repository::RebuildIndex(bool from_packs) {
  RETURN_IF_ERROR(Flush());
  RebuildStats stats;
  RETURN_IF_ERROR(index_->Clear());
  std::vector<std::string> index_names;
  RETURN_IF_ERROR(backend_->List(ObjectType::kIndex, [&](const std::string& name, uint64_t) {
    index_names.push_back(name);
    return Status::OK();
  }));
  if (!from_packs) {
    for (const std::string& name : index_names) {
      Status s = LoadIndexFile(name);
      if (s.code() == Code::kCorruption) {
        stats.problems.push_back("index file " + name + ": " + s.message());
        continue;
      }
      RETURN_IF_ERROR_CTX(s, "index file " + name);
      ++stats.index_files;
    }
    RETURN_IF_ERROR(index_->ForEachBlob([&](const BlobLocation&) {
      ++stats.blobs;
      return Status::OK();
    }));
    RETURN_IF_ERROR(index_->ForEachPack([&](const Id&, uint64_t) {
      ++stats.packs;
      return Status::OK();
    }));
    return stats;
  }
  // Packs named by a readable index file need no new index file. Unreadable index files are
  // replaced (their packs' trailers say everything they did) and then removed.
  std::unordered_set<Id> named;
  std::vector<std::string> unreadable;
  for (const std::string& name : index_names) {
    Result<std::vector<IndexedPack>> packs = ReadIndexFile(name);
    if (!packs.ok()) {
      if (packs.status().code() != Code::kCorruption) return packs.status().WithContext("index file " + name);
      unreadable.push_back(name);
      continue;
    }
    ++stats.index_files;
    for (const IndexedPack& p : *packs) named.insert(p.pack_id);
  }
  // Packs repair quarantined hold damaged blobs whose intact copies it stored elsewhere.
  ASSIGN_OR_RETURN(LoadedRepairRecords repairs, LoadRepairRecords(backend_.get(), *sealer_));
  for (const std::string& p : repairs.problems) stats.problems.push_back(p);
  std::vector<std::pair<std::string, uint64_t>> pack_names;
  RETURN_IF_ERROR(backend_->List(ObjectType::kData, [&](const std::string& name, uint64_t size) {
    Result<Id> id = Id::FromHex(name);
    if (id.ok() && repairs.quarantined.count(*id)) {
      stats.problems.push_back("pack " + name + ": quarantined by `cairn repair` (left out)");
      return Status::OK();
    }
    pack_names.emplace_back(name, size);
    return Status::OK();
  }));
  std::sort(pack_names.begin(), pack_names.end());
  // The local index is rebuilt from the trailers alone: they are the truth. Packs are added in
  // small groups so memory does not grow with the repository.
  constexpr size_t kPacksPerBatch = 64;
  std::vector<IndexedPack> batch, orphans;
  auto write_orphans = [&]() -> Status {
    if (orphans.empty()) return Status::OK();
    Bytes sealed;
    sealer_->Seal(EncodeIndexFile(orphans), SealDomain::kIndexFile, &sealed);
    RETURN_IF_ERROR_CTX(backend_->Put({ObjectType::kIndex, Sha256(sealed).Hex()}, sealed),
                        "write index file");
    ++stats.index_files_written;
    orphans.clear();
    return Status::OK();
  };
  for (const auto& [name, size] : pack_names) {
    ObjectName obj{ObjectType::kData, name};
    Result<std::vector<BlobEntry>> entries =
        ReadPackTrailer(size, *sealer_, [&](uint64_t off, uint64_t len) {
          return backend_->GetRange(obj, off, len);
        });
    Result<Id> id = Id::FromHex(name);
    if (!entries.ok() || !id.ok()) {
      stats.problems.push_back("pack " + name + ": " +
                               (entries.ok() ? std::string("bad name") : entries.status().message()));
      continue;
    }
    IndexedPack p{*id, size, std::move(entries).value()};
    ++stats.packs;
    stats.blobs += p.blobs.size();
    if (!named.count(p.pack_id)) orphans.push_back(p);
    batch.push_back(std::move(p));
    if (batch.size() >= kPacksPerBatch) {
      RETURN_IF_ERROR(index_->AddPacks(batch));
      batch.clear();
    }
    if (orphans.size() >= kPacksPerIndexFile * 64) RETURN_IF_ERROR(write_orphans());
  }
  RETURN_IF_ERROR(index_->AddPacks(batch));
  RETURN_IF_ERROR(write_orphans());
  for (const std::string& name : unreadable) {
    RETURN_IF_ERROR_CTX(backend_->Delete({ObjectType::kIndex, name}), "remove damaged index file");
    stats.repaired.push_back("index file " + name + " was unreadable: replaced from the pack trailers and removed");
  }
  // Every index file now present is absorbed: the trailers covered what they name.
  index_names.clear();
  RETURN_IF_ERROR(backend_->List(ObjectType::kIndex, [&](const std::string& name, uint64_t) {
    index_names.push_back(name);
    return Status::OK();
  }));
  for (const std::string& name : index_names) {
    ASSIGN_OR_RETURN(Id id, Id::FromHex(name));
    RETURN_IF_ERROR(index_->MarkIndexFile(id));
  }
  return stats;
}

}  // namespace cairn
