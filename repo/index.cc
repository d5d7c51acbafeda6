#include "repo/index.h"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <unordered_map>

namespace cairn {

namespace {

// Key prefixes (docs/DESIGN.md "Local index").
constexpr char kBlobPrefix = 'b';   // 'b' type id -> pack id, offset, length, raw length, comp
constexpr char kPackPrefix = 'p';   // 'p' pack id -> size
constexpr char kFilePrefix = 'i';   // 'i' index file id -> ""
const char kSchemaKey[] = "schema";
const char kSchemaValue[] = "cairn-index-1";

std::string BlobKey(BlobType type, const Id& id) {
  std::string k(1, kBlobPrefix);
  k.push_back(static_cast<char>(type));
  k.append(reinterpret_cast<const char*>(id.bytes.data()), Id::kSize);
  return k;
}
std::string IdKey(char prefix, const Id& id) {
  std::string k(1, prefix);
  k.append(reinterpret_cast<const char*>(id.bytes.data()), Id::kSize);
  return k;
}
Id IdFromKey(const rocksdb::Slice& key, size_t skip) {
  return Id::FromBytes(ByteView(reinterpret_cast<const uint8_t*>(key.data()) + skip, Id::kSize));
}

std::string EncodeLocation(const Id& pack, const BlobEntry& e) {
  Encoder enc;
  enc.PutId(pack);
  enc.Varint(e.offset);
  enc.Varint(e.length);
  enc.Varint(e.raw_length);
  enc.U8(static_cast<uint8_t>(e.compression));
  return std::string(AsString(enc.buffer()));
}

Result<BlobLocation> DecodeLocation(BlobType type, const Id& id, const rocksdb::Slice& v) {
  Decoder dec(ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
  BlobLocation loc;
  loc.entry.type = type;
  loc.entry.id = id;
  ASSIGN_OR_RETURN(loc.pack, dec.GetId());
  ASSIGN_OR_RETURN(loc.entry.offset, dec.Varint());
  ASSIGN_OR_RETURN(loc.entry.length, dec.Varint());
  ASSIGN_OR_RETURN(loc.entry.raw_length, dec.Varint());
  ASSIGN_OR_RETURN(uint8_t comp, dec.U8());
  loc.entry.compression = static_cast<Compression>(comp);
  return loc;
}

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  if (s.IsNoSpace()) return Status::NoSpace("index database: " + what + ": " + s.ToString());
  return Status::IOError("index database: " + what + ": " + s.ToString());
}

}  // namespace

Result<std::vector<std::optional<BlobLocation>>> Index::LookupMany(BlobType type, const std::vector<Id>& ids) {
  std::vector<std::optional<BlobLocation>> out;
  out.reserve(ids.size());
  for (const Id& id : ids) {
    ASSIGN_OR_RETURN(std::optional<BlobLocation> loc, Lookup(type, id));
    out.push_back(loc);
  }
  return out;
}

namespace {

class RocksIndex : public Index {
 public:
  // `remove_dir`: a private database of this process, deleted when it closes.
  RocksIndex(std::unique_ptr<rocksdb::DB> db, bool read_only, std::string remove_dir = "")
      : db_(std::move(db)), read_only_(read_only), remove_dir_(std::move(remove_dir)) {}
  ~RocksIndex() override {
    // Waits for every memtable, a PersistSoon's included, to be written: RocksDB's own flush at
    // close sees nothing to do once a PersistSoon has switched the memtable, and the flushes
    // still queued are then cancelled by the shutdown, losing their entries (the writes skip
    // the write-ahead log). A failure loses nothing for good: the entries and the marks of the
    // index files they came from go together, and the next open absorbs those files again.
    if (!read_only_ && remove_dir_.empty()) {
      rocksdb::FlushOptions fo;
      fo.allow_write_stall = true;  // waits for the flush, not for compactions
      db_->Flush(fo).PermitUncheckedError();
    }
    db_.reset();
    std::error_code ec;
    if (!remove_dir_.empty()) std::filesystem::remove_all(remove_dir_, ec);
  }

  Result<std::optional<BlobLocation>> Lookup(BlobType type, const Id& id) override {
    std::string key = BlobKey(type, id);
    if (read_only_) {
      std::lock_guard<std::mutex> l(mu_);
      auto it = overlay_.find(key);
      if (it != overlay_.end()) {
        ASSIGN_OR_RETURN(BlobLocation loc, DecodeLocation(type, id, it->second));
        return std::optional<BlobLocation>(loc);
      }
      // Cleared: the shared database's rows may name packs a prune has deleted since. Trusting
      // one would let a writer deduplicate against a pack that is gone (as Scan already knows).
      if (cleared_) return std::optional<BlobLocation>();
    }
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) return std::optional<BlobLocation>();
    RETURN_IF_ERROR(FromRocks(s, "get"));
    ASSIGN_OR_RETURN(BlobLocation loc, DecodeLocation(type, id, value));
    return std::optional<BlobLocation>(loc);
  }

  Result<std::vector<std::optional<BlobLocation>>> LookupMany(BlobType type, const std::vector<Id>& ids) override {
    // The read-only overlay is consulted key by key (Lookup).
    if (read_only_) return Index::LookupMany(type, ids);
    // Sorted keys let RocksDB's batched MultiGet visit each table file once for all of them.
    std::vector<std::string> keys;
    keys.reserve(ids.size());
    for (const Id& id : ids) keys.push_back(BlobKey(type, id));
    std::vector<size_t> order(ids.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    std::vector<rocksdb::Slice> sorted;
    sorted.reserve(ids.size());
    for (size_t i : order) sorted.emplace_back(keys[i]);
    std::vector<rocksdb::PinnableSlice> values(ids.size());
    std::vector<rocksdb::Status> statuses(ids.size());
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), sorted.size(), sorted.data(), values.data(),
                  statuses.data(), /*sorted_input=*/true);
    std::vector<std::optional<BlobLocation>> out(ids.size());
    for (size_t j = 0; j < order.size(); ++j) {
      size_t i = order[j];
      if (statuses[j].IsNotFound()) continue;
      RETURN_IF_ERROR(FromRocks(statuses[j], "get"));
      ASSIGN_OR_RETURN(BlobLocation loc, DecodeLocation(type, ids[i], values[j]));
      out[i] = loc;
    }
    return out;
  }

  Status AddIndexFile(const Id& index_id, const std::vector<IndexedPack>& packs) override {
    return Write(packs, &index_id);
  }

  Status AddPacks(const std::vector<IndexedPack>& packs) override { return Write(packs, nullptr); }

  Status MarkIndexFile(const Id& index_id) override { return Write({}, &index_id); }

  void PersistSoon() override {
    if (read_only_ || !remove_dir_.empty()) return;  // a private database goes at the close
    rocksdb::FlushOptions fo;
    fo.wait = false;
    fo.allow_write_stall = true;  // never block the caller
    db_->Flush(fo).PermitUncheckedError();  // the close flushes again, and waits
  }

  Status Write(const std::vector<IndexedPack>& packs, const Id* index_id) {
    // Keys in sorted order: ids are random, and inserting them sorted is several times cheaper
    // for RocksDB's memtable than inserting them as they come.
    std::vector<std::pair<std::string, std::string>> kv;
    for (const IndexedPack& p : packs) {
      Encoder size;
      size.Varint(p.pack_size);
      kv.emplace_back(IdKey(kPackPrefix, p.pack_id), std::string(AsString(size.buffer())));
      for (const BlobEntry& e : p.blobs) kv.emplace_back(BlobKey(e.type, e.id), EncodeLocation(p.pack_id, e));
    }
    if (index_id) kv.emplace_back(IdKey(kFilePrefix, *index_id), "");
    std::sort(kv.begin(), kv.end());
    rocksdb::WriteBatch batch;
    for (const auto& [k, v] : kv) batch.Put(k, v);
    if (read_only_) return ApplyToOverlay(batch);
    rocksdb::WriteOptions wo;
    wo.disableWAL = true;  // derived data: a crash just means re-absorbing index files
    return FromRocks(db_->Write(wo, &batch), "write");
  }

  Result<std::vector<Id>> IndexFiles() override {
    std::vector<Id> ids;
    RETURN_IF_ERROR(Scan(kFilePrefix, [&](const rocksdb::Slice& k, const rocksdb::Slice&) {
      ids.push_back(IdFromKey(k, 1));
      return Status::OK();
    }));
    return ids;
  }

  Status ForEachPack(const std::function<Status(const Id&, uint64_t)>& fn) override {
    return Scan(kPackPrefix, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) -> Status {
      Decoder dec(ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
      ASSIGN_OR_RETURN(uint64_t size, dec.Varint());
      return fn(IdFromKey(k, 1), size);
    });
  }

  Status ForEachBlob(const std::function<Status(const BlobLocation&)>& fn) override {
    return Scan(kBlobPrefix, [&](const rocksdb::Slice& k, const rocksdb::Slice& v) -> Status {
      BlobType type = static_cast<BlobType>(k[1]);
      ASSIGN_OR_RETURN(BlobLocation loc, DecodeLocation(type, IdFromKey(k, 2), v));
      return fn(loc);
    });
  }

  Status Clear() override {
    {
      std::lock_guard<std::mutex> l(mu_);
      overlay_.clear();
      cleared_ = true;
    }
    if (read_only_) return Status::OK();
    for (char prefix : {kBlobPrefix, kPackPrefix, kFilePrefix}) {
      std::string begin(1, prefix), end(1, static_cast<char>(prefix + 1));
      RETURN_IF_ERROR(FromRocks(db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(),
                                                 begin, end),
                                "clear"));
    }
    return Status::OK();
  }

  bool read_only() const override { return read_only_; }

  Status MarkSchema() { return FromRocks(db_->Put(rocksdb::WriteOptions(), kSchemaKey, kSchemaValue), "put"); }

 private:
  Status ApplyToOverlay(const rocksdb::WriteBatch& batch) {
    struct Handler : rocksdb::WriteBatch::Handler {
      std::unordered_map<std::string, std::string>* out;
      rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
        (*out)[k.ToString()] = v.ToString();
        return rocksdb::Status::OK();
      }
    } h;
    std::lock_guard<std::mutex> l(mu_);
    h.out = &overlay_;
    return FromRocks(batch.Iterate(&h), "overlay");
  }

  // Visits keys with a prefix: the database's (unless cleared in read-only mode) and the overlay's.
  Status Scan(char prefix, const std::function<Status(const rocksdb::Slice&, const rocksdb::Slice&)>& fn) {
    bool use_db = true;
    std::vector<std::pair<std::string, std::string>> extra;
    if (read_only_) {
      std::lock_guard<std::mutex> l(mu_);
      use_db = !cleared_;
      for (const auto& [k, v] : overlay_)
        if (!k.empty() && k[0] == prefix) extra.emplace_back(k, v);
    }
    if (use_db) {
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
      std::string p(1, prefix);
      for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) {
        if (read_only_) {
          std::lock_guard<std::mutex> l(mu_);
          if (overlay_.count(it->key().ToString())) continue;  // visited below
        }
        RETURN_IF_ERROR(fn(it->key(), it->value()));
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
    }
    for (const auto& [k, v] : extra) RETURN_IF_ERROR(fn(k, v));
    return Status::OK();
  }

  std::unique_ptr<rocksdb::DB> db_;
  const bool read_only_;
  const std::string remove_dir_;
  std::mutex mu_;
  std::unordered_map<std::string, std::string> overlay_;  // GUARDED_BY(mu_), read-only mode
  bool cleared_ = false;                                  // GUARDED_BY(mu_)
};

rocksdb::Options DbOptions() {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_open_files = 256;
  o.keep_log_file_num = 2;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.write_buffer_size = 32 << 20;
  o.compression = rocksdb::kNoCompression;  // keys are random ids: nothing to gain
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));  // most dedup lookups miss
  t.block_cache = rocksdb::NewLRUCache(64 << 20);
  // Filters and index blocks live in the block cache too, so memory stays bounded however
  // many entries there are; the level-0 ones stay pinned because every lookup needs them.
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

Result<std::unique_ptr<rocksdb::DB>> OpenDb(const std::string& dir, bool read_only,
                                            bool* lock_held = nullptr) {
  rocksdb::Options o = DbOptions();
  // A reader opens every table file now: the writing process may compact and delete them while
  // this one runs, and an open file stays readable.
  if (read_only) o.max_open_files = -1;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = read_only ? rocksdb::DB::OpenForReadOnly(o, dir, &raw)
                                : rocksdb::DB::Open(o, dir, &raw);
  if (lock_held) {
    // RocksDB's words for a database open elsewhere (another process, or this one).
    std::string m = s.ToString();
    *lock_held = s.IsIOError() && (m.find("While lock file") != std::string::npos ||
                                   m.find("lock hold by current process") != std::string::npos);
  }
  if (!s.ok()) return FromRocks(s, "open " + dir);
  return std::unique_ptr<rocksdb::DB>(raw);
}

// Serializes opening (creating, repairing) one index database between processes. Without it, a
// process that met a database another one was still creating took it for damaged and deleted it
// from under its owner. Held only while opening, which takes milliseconds, never while in use.
class OpenLock {
 public:
  static Result<std::unique_ptr<OpenLock>> Acquire(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      Status s = Status::FromErrno(errno, "lock " + path);
      ::close(fd);
      return s;
    }
    return std::unique_ptr<OpenLock>(new OpenLock(fd));
  }
  ~OpenLock() { ::close(fd_); }

 private:
  explicit OpenLock(int fd) : fd_(fd) {}
  int fd_;
};

// Private databases (see Index::Open) left by processes that were killed.
void RemoveStalePrivateDbs(const std::string& dir) {
  std::filesystem::path p(dir);
  std::string prefix = p.filename().string() + ".private-";
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(p.parent_path(), ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + prefix.size()));
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove_all(e.path(), ec);
  }
}

bool SchemaMatches(rocksdb::DB* db) {
  std::string v;
  return db->Get(rocksdb::ReadOptions(), kSchemaKey, &v).ok() && v == kSchemaValue;
}

}  // namespace

Result<std::unique_ptr<Index>> Index::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IOError("create index folder " + dir + ": " + ec.message());
  ASSIGN_OR_RETURN(std::unique_ptr<OpenLock> lock, OpenLock::Acquire(dir + ".lock"));
  RemoveStalePrivateDbs(dir);
  bool lock_held = false;
  Result<std::unique_ptr<rocksdb::DB>> db = OpenDb(dir, false, &lock_held);
  if (!db.ok()) {
    // Held by another cairn process: share it read-only rather than wait.
    Result<std::unique_ptr<rocksdb::DB>> ro = OpenDb(dir, true);
    if (ro.ok() && SchemaMatches(ro->get()))
      return std::unique_ptr<Index>(new RocksIndex(std::move(ro).value(), true));
    if (lock_held) {
      // In use elsewhere but not readable here: never delete it from under its owner; this
      // process builds a private database instead, removed when it closes.
      std::string mine = dir + ".private-" + std::to_string(::getpid());
      std::filesystem::remove_all(mine, ec);
      ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::DB> own, OpenDb(mine, false));
      std::unique_ptr<RocksIndex> idx(new RocksIndex(std::move(own), false, mine));
      RETURN_IF_ERROR(idx->MarkSchema());
      return std::unique_ptr<Index>(std::move(idx));
    }
    // Unreadable: it is derived data, so start over.
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir, ec);
    db = OpenDb(dir, false);
    if (!db.ok()) return db.status();
  }
  bool fresh = !SchemaMatches(db->get());
  std::unique_ptr<RocksIndex> idx(new RocksIndex(std::move(db).value(), false));
  if (fresh) {
    RETURN_IF_ERROR(idx->Clear());
    RETURN_IF_ERROR(idx->MarkSchema());
  }
  return std::unique_ptr<Index>(std::move(idx));
}

}  // namespace cairn
