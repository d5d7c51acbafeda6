#include "repo/scrub.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "common/task_group.h"
#include "repo/repair_record.h"
#include "repo/walker.h"

namespace cairn {

namespace {

// Threads beyond one per core for the data check; see ReadPacks.
constexpr int kExtraReaders = 2;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint32_t Bucket(const Id& id) {
  return static_cast<uint32_t>(id.bytes[0]) << 24 | static_cast<uint32_t>(id.bytes[1]) << 16 |
         static_cast<uint32_t>(id.bytes[2]) << 8 | id.bytes[3];
}

bool Selected(const Id& pack, const ScrubOptions& o) {
  if (!o.read_data) return false;
  if (o.subset_m) return Bucket(pack) % o.subset_m == o.subset_n - 1;
  if (o.subset_percent > 0) return Bucket(pack) < o.subset_percent / 100.0 * 4294967296.0;
  return true;
}

class Scrubber {
 public:
  Scrubber(Repository* repo, const ScrubOptions& options, Reporter* reporter)
      : repo_(repo), options_(options), reporter_(reporter) {}

  Result<ScrubReport> Run() {
    start_ = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(CheckSnapshots());
    RETURN_IF_ERROR(CheckPacks());
    if (options_.read_data) RETURN_IF_ERROR(ReadPacks());
    if (!damaged_blobs_.empty() || !damaged_trees_.empty()) RETURN_IF_ERROR(NameAffectedFiles());
    return std::move(report_);
  }

 private:
  void Add(bool damage, std::string object, std::string problem) {
    std::lock_guard<std::mutex> l(mu_);
    report_.findings.push_back(Finding{damage, std::move(object), std::move(problem), {}});
  }

  // Walks every snapshot's trees once per distinct tree, checking each referenced blob is indexed.
  Status CheckSnapshots() {
    // Warnings are objects that could not be read: index files at open, snapshots when listed.
    ASSIGN_OR_RETURN(snapshots_, repo_->ListSnapshots());
    for (const std::string& w : repo_->warnings()) Add(true, "object", w);
    report_.snapshots = snapshots_.size();
    std::unordered_set<Id> seen_trees, seen_blobs;
    for (const SnapshotRef& s : snapshots_) {
      std::vector<Id> todo{s.snapshot.tree};
      while (!todo.empty()) {
        Id tree_id = todo.back();
        todo.pop_back();
        if (!seen_trees.insert(tree_id).second) continue;
        Result<Tree> tree = repo_->LoadTree(tree_id);
        ++report_.trees;
        if (!tree.ok()) {
          damaged_trees_.insert(tree_id);
          Add(true, "tree " + tree_id.Hex(), tree.status().message());
          continue;
        }
        for (const Node& n : tree->nodes) {
          if (n.type == NodeType::kDir) todo.push_back(n.subtree);
          if (n.type != NodeType::kFile) continue;
          for (const Id& id : n.content) {
            if (!seen_blobs.insert(id).second) continue;
            ++report_.blobs_referenced;
            Result<BlobLocation> loc = repo_->FindBlob(BlobType::kData, id);
            if (!loc.ok()) {
              damaged_blobs_.insert(id);
              Add(true, "blob " + id.Hex(), "referenced but not in the index (missing)");
            }
          }
        }
        if (reporter_) reporter_->Progress(report_.trees, "trees");
      }
    }
    return Status::OK();
  }

  // Every indexed pack exists with its recorded size; every stored pack is indexed.
  Status CheckPacks() {
    RETURN_IF_ERROR(repo_->backend()->List(ObjectType::kData, [&](const std::string& name, uint64_t size) {
      stored_[name] = size;
      return Status::OK();
    }));
    std::unordered_set<std::string> indexed;
    RETURN_IF_ERROR(repo_->index()->ForEachPack([&](const Id& pack, uint64_t size) {
      std::string name = pack.Hex();
      indexed.insert(name);
      auto it = stored_.find(name);
      if (it == stored_.end())
        Add(true, "pack " + name, "in the index but missing from the repository");
      else if (it->second != size)
        Add(true, "pack " + name,
            "size " + std::to_string(it->second) + " differs from the indexed " + std::to_string(size));
      return Status::OK();
    }));
    ASSIGN_OR_RETURN(LoadedRepairRecords repairs, LoadRepairRecords(repo_->backend(), repo_->sealer()));
    for (const std::string& p : repairs.problems) Add(false, "repair record", p);
    for (const Id& id : repairs.quarantined) quarantined_.insert(id.Hex());
    for (const auto& [name, size] : stored_)
      if (!indexed.count(name) && quarantined_.count(name))
        Add(false, "pack " + name,
            "quarantined by `cairn repair` (holds damaged blobs; the intact ones were copied out; "
            "prune deletes it)");
      else if (!indexed.count(name))
        Add(false, "pack " + name,
            "not in any index file (left by an interrupted writer; `cairn index rebuild "
            "--from-packs` adopts it, prune will reclaim it)");
    report_.packs = stored_.size();
    for (const auto& [name, size] : stored_) report_.bytes_stored += size;
    return Status::OK();
  }

  // The packs this run reads, in the order it starts them.
  std::vector<PackStatus> ChoosePacks(const ScrubState& state) {
    std::map<Id, uint64_t> stored;
    for (const auto& [name, size] : stored_)
      if (Result<Id> id = Id::FromHex(name); id.ok() && !quarantined_.count(name)) stored.emplace(*id, size);
    std::vector<PackStatus> all = SummarizeScrubState(state, stored, 0, 0).packs;  // ReadsBefore
    std::vector<PackStatus> todo;
    bool budget = options_.budget_bytes > 0 || options_.budget_ns > 0;
    uint64_t bytes = 0;
    for (const PackStatus& p : all) {
      if (!budget && !Selected(p.pack, options_)) continue;
      // Stop at the first pack that does not fit rather than skipping to smaller ones: the
      // order is the cursor, and a later run must pick up exactly here.
      if (options_.budget_bytes > 0 && !todo.empty() && bytes + p.size_bytes > options_.budget_bytes)
        break;
      bytes += p.size_bytes;
      todo.push_back(p);
    }
    // Without a budget, read in name order: the order of the packs' folders.
    if (!budget)
      std::sort(todo.begin(), todo.end(), [](const PackStatus& a, const PackStatus& b) { return a.pack < b.pack; });
    return todo;
  }

  Status ReadPacks() {
    // The state only orders the packs: without it the data check still runs (everything counts
    // as never verified), and Record() reports why it cannot write.
    Result<LoadedScrubState> loaded = LoadScrubState(repo_->backend(), repo_->sealer());
    if (!loaded.ok()) {
      Add(false, "scrub state", "unreadable, ignored: " + loaded.status().message());
      loaded = LoadedScrubState{};
    }
    for (const std::string& p : loaded->problems) Add(false, "scrub state", p + " (ignored)");
    std::vector<PackStatus> todo = ChoosePacks(loaded->state);
    if (reporter_ && options_.budget_ns == 0) {
      uint64_t total = 0;
      for (const PackStatus& p : todo) total += p.size_bytes;
      reporter_->Total(total);
    }
    RETURN_IF_ERROR(repo_->index()->ForEachBlob([&](const BlobLocation& loc) {
      ++indexed_blobs_[loc.pack];
      return Status::OK();
    }));
    auto read_start = std::chrono::steady_clock::now();
    // Reading a pack waits on the disk, verifying it on the CPU: threads beyond one per core
    // keep reads in flight while the others verify, so the disk never idles.
    int threads = options_.threads > 0 ? options_.threads : DefaultThreads() + kExtraReaders;
    TaskGroup pool(threads, 1);
    for (size_t i = 0; i < todo.size(); ++i) {
      if (i > 0 && OutOfTime()) break;
      pool.Submit([this, i, p = todo[i]] {
        if (i > 0 && OutOfTime()) return Status::OK();  // queued before the deadline passed
        bool damaged = false;
        RETURN_IF_ERROR(ReadPack(p.pack, p.size_bytes, &damaged));
        std::lock_guard<std::mutex> l(mu_);
        checked_[p.pack] = PackCheck{options_.now_ns ? options_.now_ns : NowNs(), damaged};
        return Status::OK();
      });
    }
    Status st = pool.Wait();
    report_.read_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - read_start).count();
    if (options_.record && !checked_.empty()) Record();
    return st;
  }

  bool OutOfTime() const {
    return options_.budget_ns > 0 && std::chrono::steady_clock::now() - start_ >= std::chrono::nanoseconds(options_.budget_ns);
  }

  // Merges this run's checks into the scrub state as it is now (a concurrent scrub may have
  // written meanwhile), keeping only packs that still exist.
  void Record() {
    Result<LoadedScrubState> now = LoadScrubState(repo_->backend(), repo_->sealer());
    if (!now.ok()) {
      report_.state_problem = "read scrub state: " + now.status().message();
      return;
    }
    ScrubState next;
    for (const auto& [pack, check] : now->state.packs)
      if (stored_.count(pack.Hex()) && !quarantined_.count(pack.Hex())) next.packs.emplace(pack, check);
    ScrubState mine;
    mine.packs = checked_;
    mine.written_ns = NowNs();
    mine.run_bytes = report_.bytes_read;
    mine.run_ns = report_.read_ns;
    next.Merge(mine);
    next.written_ns = mine.written_ns;
    next.run_bytes = mine.run_bytes;
    next.run_ns = mine.run_ns;
    Result<std::string> name = SaveScrubState(repo_->backend(), repo_->sealer(), next, now->merged);
    if (name.ok()) report_.state_object = *name; else report_.state_problem = name.status().message();
  }

  Status ReadPack(const Id& pack, uint64_t size, bool* damaged) {
    std::string name = pack.Hex();
    auto damage = [&](std::string object, std::string problem) {
      *damaged = true;
      Add(true, std::move(object), std::move(problem));
    };
    Result<Bytes> bytes = repo_->backend()->Get({ObjectType::kData, name});
    if (!bytes.ok()) {
      damage("pack " + name, "unreadable: " + bytes.status().message());
      return Status::OK();
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      ++report_.packs_read;
      report_.bytes_read += bytes->size();
      if (reporter_) reporter_->Progress(report_.bytes_read, "pack " + pack.ShortHex());
    }
    Result<std::vector<BlobEntry>> entries =
        ReadPackTrailer(bytes->size(), repo_->sealer(), [&](uint64_t off, uint64_t len) -> Result<Bytes> {
          return Bytes(bytes->begin() + static_cast<ptrdiff_t>(off),
                       bytes->begin() + static_cast<ptrdiff_t>(off + len));
        });
    if (!entries.ok()) {
      damage("pack " + name, "trailer: " + entries.status().message());
      // Without the trailer, fall back to the index's view of the pack's blobs.
    }
    // SHA-256 of the whole pack is a third of the check's CPU. When the envelopes tile the pack,
    // opening them all verifies every byte already; the name check is kept for packs with gaps
    // or an unreadable trailer, and the index comparison below catches a pack file that holds
    // another pack's (authentic) bytes.
    bool covered = entries.ok() && EnvelopesCoverPack(*bytes, *entries);
    if (bytes->size() != size || (!covered && Sha256(*bytes) != pack))
      damage("pack " + name, "content does not match its name (damaged)");
    std::vector<BlobEntry> blobs;
    if (entries.ok()) {
      blobs = std::move(entries).value();
      RETURN_IF_ERROR(CompareWithIndex(pack, blobs, damaged));
    } else {
      RETURN_IF_ERROR(repo_->index()->ForEachBlob([&](const BlobLocation& loc) {
        if (loc.pack == pack) blobs.push_back(loc.entry);
        return Status::OK();
      }));
    }
    for (const BlobEntry& e : blobs) {
      if (e.offset + e.length > bytes->size()) {
        *damaged = true;
        MarkDamaged(e, "lies outside the pack");
        continue;
      }
      ByteView envelope(bytes->data() + e.offset, e.length);
      Result<Bytes> plain = OpenBlob(e, envelope, repo_->sealer(), repo_->hasher());
      std::lock_guard<std::mutex> l(mu_);
      ++report_.blobs_read;
      if (!plain.ok()) {
        *damaged = true;
        if (e.type == BlobType::kTree) damaged_trees_.insert(e.id); else damaged_blobs_.insert(e.id);
        report_.findings.push_back(Finding{true, "pack " + name, plain.status().message(), {}});
      }
    }
    return Status::OK();
  }

  // Every blob the index places in this pack must sit where the trailer says: otherwise reads
  // through the index fail although the pack is intact (a damaged local index, or a pack file
  // replaced by another pack), and only a rebuild fixes it.
  Status CompareWithIndex(const Id& pack, const std::vector<BlobEntry>& trailer, bool* damaged) {
    size_t agreeing = 0;
    for (const BlobEntry& e : trailer) {
      ASSIGN_OR_RETURN(std::optional<BlobLocation> loc, repo_->index()->Lookup(e.type, e.id));
      if (loc && loc->pack == pack && loc->entry == e) ++agreeing;
    }
    auto it = indexed_blobs_.find(pack);
    size_t indexed = it == indexed_blobs_.end() ? 0 : it->second;
    if (agreeing == indexed) return Status::OK();
    // Rare, so one more pass over the index to name the blobs (and through them the files).
    std::map<std::pair<BlobType, Id>, const BlobEntry*> listed;  // a tree and a data blob may share an id
    for (const BlobEntry& e : trailer) listed.emplace(std::make_pair(e.type, e.id), &e);
    RETURN_IF_ERROR(repo_->index()->ForEachBlob([&](const BlobLocation& loc) {
      if (loc.pack != pack) return Status::OK();
      auto t = listed.find(std::make_pair(loc.entry.type, loc.entry.id));
      if (t != listed.end() && *t->second == loc.entry) return Status::OK();
      std::lock_guard<std::mutex> l(mu_);
      (loc.entry.type == BlobType::kTree ? damaged_trees_ : damaged_blobs_).insert(loc.entry.id);
      return Status::OK();
    }));
    *damaged = true;
    Add(true, "pack " + pack.Hex(),
        std::to_string(indexed - std::min(indexed, agreeing)) + " of the " + std::to_string(indexed) +
            " blobs the index places here are not where the pack's trailer lists them (run `cairn "
            "index rebuild --from-packs`)");
    return Status::OK();
  }

  void MarkDamaged(const BlobEntry& e, const std::string& why) {
    std::lock_guard<std::mutex> l(mu_);
    if (e.type == BlobType::kTree) damaged_trees_.insert(e.id); else damaged_blobs_.insert(e.id);
    report_.findings.push_back(Finding{true, "blob " + e.id.Hex(), why, {}});
  }

  // Names the snapshots and files that contain a damaged blob or sit below a damaged tree.
  Status NameAffectedFiles() {
    std::vector<std::string> affected;
    for (const SnapshotRef& s : snapshots_) {
      std::string tag = "snapshot " + s.id.ShortHex();
      if (damaged_trees_.count(s.snapshot.tree)) {
        affected.push_back(tag + ": (root tree)");
        continue;
      }
      Status st = WalkTree(repo_, s.snapshot.tree, "", [&](const std::string& path, const Node& n) -> Result<bool> {
        if (n.type == NodeType::kDir && damaged_trees_.count(n.subtree)) {
          affected.push_back(tag + ": " + path + "/ (folder listing)");
          return false;
        }
        if (n.type == NodeType::kFile)
          for (const Id& id : n.content)
            if (damaged_blobs_.count(id)) {
              affected.push_back(tag + ": " + path);
              break;
            }
        return true;
      });
      if (!st.ok()) affected.push_back(tag + ": walk stopped: " + st.message());
    }
    if (!affected.empty())
      report_.findings.push_back(Finding{true, "affected snapshots and files",
                                         std::to_string(affected.size()) + " entries", affected});
    return Status::OK();
  }

  Repository* repo_;
  const ScrubOptions& options_;
  Reporter* reporter_;
  std::mutex mu_;
  ScrubReport report_;  // findings GUARDED_BY(mu_) while packs are read
  std::vector<SnapshotRef> snapshots_;
  std::map<std::string, uint64_t> stored_;
  std::unordered_set<std::string> quarantined_;  // by repair: never read, never counted damaged
  std::unordered_set<Id> damaged_blobs_, damaged_trees_;  // GUARDED_BY(mu_) while reading
  std::map<Id, PackCheck> checked_;                       // GUARDED_BY(mu_) while reading
  std::unordered_map<Id, size_t> indexed_blobs_;  // per pack; read-only while packs are read
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

Status ParseDataSubset(const std::string& spec, ScrubOptions* o) {
  o->read_data = true;
  try {
    if (!spec.empty() && spec.back() == '%') {
      double p = std::stod(spec.substr(0, spec.size() - 1));
      if (!(p > 0 && p <= 100)) throw std::invalid_argument("range");
      o->subset_percent = p;
      return Status::OK();
    }
    size_t slash = spec.find('/');
    if (slash == std::string::npos) throw std::invalid_argument("form");
    long n = std::stol(spec.substr(0, slash)), m = std::stol(spec.substr(slash + 1));
    if (m < 1 || n < 1 || n > m || m > 100000) throw std::invalid_argument("range");
    o->subset_n = static_cast<uint32_t>(n);
    o->subset_m = static_cast<uint32_t>(m);
    return Status::OK();
  } catch (const std::exception&) {
    return Status::InvalidArgument("--read-data-subset takes N/M (1 <= N <= M) or P% (0 < P <= 100): '" +
                                   spec + "'");
  }
}

Status ParseScrubBudget(const std::string& spec, ScrubOptions* o) {
  struct Unit {
    const char* name;
    uint64_t bytes;  // 0: a duration
    int64_t seconds;
  };
  static constexpr Unit kUnits[] = {
      {"", 1, 0},           {"B", 1, 0},
      {"K", 1ull << 10, 0}, {"KiB", 1ull << 10, 0}, {"KB", 1000, 0},
      {"M", 1ull << 20, 0}, {"MiB", 1ull << 20, 0}, {"MB", 1000000, 0},
      {"G", 1ull << 30, 0}, {"GiB", 1ull << 30, 0}, {"GB", 1000000000, 0},
      {"T", 1ull << 40, 0}, {"TiB", 1ull << 40, 0}, {"TB", 1000000000000, 0},
      {"s", 0, 1},          {"m", 0, 60},           {"min", 0, 60},
      {"h", 0, 3600},       {"d", 0, 86400},
  };
  auto invalid = [&] {
    return Status::InvalidArgument("--budget takes a size (20GiB, 500M, 10GB) or a duration (30m, 2h, 90s): '" +
                                   spec + "'");
  };
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), n);
  if (ec != std::errc() || end == spec.data() || n == 0) return invalid();
  std::string_view unit(end, static_cast<size_t>(spec.data() + spec.size() - end));
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    uint64_t scale = u.bytes ? u.bytes : static_cast<uint64_t>(u.seconds) * 1000000000;
    if (n > UINT64_MAX / 2 / scale) return invalid();  // also keeps durations within int64
    if (u.bytes) o->budget_bytes = n * scale; else o->budget_ns = static_cast<int64_t>(n * scale);
    o->read_data = true;
    return Status::OK();
  }
  return invalid();
}

Result<ScrubReport> Scrub(Repository* repo, const ScrubOptions& options, Reporter* reporter) {
  Scrubber s(repo, options, reporter);
  return s.Run();
}

Result<ScrubStatus> GetScrubStatus(Repository* repo, int64_t now_ns, int64_t every_ns) {
  std::map<Id, uint64_t> stored;
  RETURN_IF_ERROR(repo->backend()->List(ObjectType::kData, [&](const std::string& name, uint64_t size) {
    if (Result<Id> id = Id::FromHex(name); id.ok()) stored.emplace(*id, size);
    return Status::OK();
  }));
  ASSIGN_OR_RETURN(LoadedRepairRecords repairs, LoadRepairRecords(repo->backend(), repo->sealer()));
  for (const Id& id : repairs.quarantined) stored.erase(id);
  ASSIGN_OR_RETURN(LoadedScrubState loaded, LoadScrubState(repo->backend(), repo->sealer()));
  ScrubStatus st = SummarizeScrubState(loaded.state, stored, now_ns ? now_ns : NowNs(), every_ns);
  st.problems = std::move(loaded.problems);
  return st;
}

}  // namespace cairn
