#include "repo/repair.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "common/task_group.h"
#include "repo/index_set.h"
#include "repo/pack.h"
#include "repo/scrub_state.h"

namespace cairn {

namespace {

int Slot(BlobType t) { return static_cast<int>(t); }

// What one read of a pack showed.
struct PackCheckResult {
  bool missing = false;
  bool readable = true;        // false: the read failed (not "not found")
  bool name_matches = true;    // the SHA-256 of the bytes is the pack's name
  std::vector<size_t> bad;     // indexes into the pack's index entries that failed
  uint64_t bytes = 0;
  std::string problem;
  bool damaged() const { return missing || !readable || !name_matches || !bad.empty(); }
};

class Repairer {
 public:
  Repairer(Repository* repo, const RepairOptions& options, Reporter* reporter)
      : repo_(repo), options_(options), reporter_(reporter),
        now_(options.now_ns ? options.now_ns : WallNowNs()) {}

  Result<RepairReport> Run() {
    RETURN_IF_ERROR_CTX(repo_->SyncIndex(), "index");
    ASSIGN_OR_RETURN(index_, ReadIndexFileSet(repo_, "repairing"));
    ASSIGN_OR_RETURN(previous_, LoadRepairRecords(repo_->backend(), repo_->sealer()));
    for (const std::string& p : previous_.problems) report_.findings.push_back(p + " (replaced by this repair)");
    RETURN_IF_ERROR(repo_->backend()->List(ObjectType::kData, [&](const std::string& name, uint64_t size) {
      if (Result<Id> id = Id::FromHex(name); id.ok()) stored_.emplace(*id, size);
      return Status::OK();
    }));
    RETURN_IF_ERROR(CheckPacks());
    FindLostBlobs();
    RETURN_IF_ERROR(FindDamagedSnapshots());
    if (options_.dry_run) return report_;
    RETURN_IF_ERROR(Salvage());
    RETURN_IF_ERROR(WriteChanges());
    return report_;
  }

 private:
  // Packs to read: missing or mis-sized ones (structure), those the scrub state marks damaged,
  // or all of them.
  Status CheckPacks() {
    std::unordered_set<Id> scrub_damaged;
    if (!options_.read_data) {
      Result<LoadedScrubState> state = LoadScrubState(repo_->backend(), repo_->sealer());
      if (state.ok()) {
        for (const auto& [pack, check] : state->state.packs)
          if (check.damaged) scrub_damaged.insert(pack);
      } else {
        report_.findings.push_back("scrub state unreadable (" + state.status().message() +
                                   "): only missing packs are known; use --read-data");
      }
    }
    std::vector<const IndexedPack*> todo;
    for (const auto& [id, pack] : index_.packs) {
      auto stored = stored_.find(id);
      if (stored == stored_.end()) {
        PackCheckResult r;
        r.missing = true;
        results_.emplace(id, std::move(r));
        continue;
      }
      if (options_.read_data || stored->second != pack.pack_size || scrub_damaged.count(id)) todo.push_back(&pack);
    }
    std::sort(todo.begin(), todo.end(), [](const IndexedPack* a, const IndexedPack* b) { return a->pack_id < b->pack_id; });
    if (reporter_) {
      uint64_t total = 0;
      for (const IndexedPack* p : todo) total += p->pack_size;
      reporter_->Total(total);
    }
    int threads = options_.threads > 0 ? options_.threads : DefaultThreads() + 1;
    TaskGroup pool(threads, 1);
    for (const IndexedPack* p : todo) {
      pool.Submit([this, p]() -> Status {
        ASSIGN_OR_RETURN(PackCheckResult r, CheckPack(*p));
        // A fault that does not repeat is not damage: nothing is taken out for it.
        bool flaky = false;
        if (r.damaged() && !r.missing) {
          ASSIGN_OR_RETURN(PackCheckResult again, CheckPack(*p));
          flaky = !again.damaged();
          r = std::move(again);
        }
        std::lock_guard<std::mutex> l(mu_);
        report_.packs_checked++;
        report_.bytes_read += r.bytes;
        if (flaky) report_.packs_flaky++;
        if (reporter_) reporter_->Progress(report_.bytes_read, "pack " + p->pack_id.ShortHex());
        results_.emplace(p->pack_id, std::move(r));
        return Status::OK();
      });
    }
    RETURN_IF_ERROR(pool.Wait());
    for (const auto& [id, r] : results_) {
      if (!r.damaged()) continue;
      drop_.insert(id);
      const IndexedPack& pack = index_.packs.at(id);
      std::string line = "pack " + id.Hex() + ": ";
      if (r.missing) {
        report_.packs_missing++;
        line += "missing from the repository (" + std::to_string(pack.blobs.size()) + " blobs)";
      } else {
        report_.packs_damaged++;
        line += r.problem.empty() ? "damaged" : r.problem;
        line += "; " + std::to_string(r.bad.size()) + " of " + std::to_string(pack.blobs.size()) +
                " blobs unreadable";
      }
      report_.findings.push_back(line);
    }
    return Status::OK();
  }

  // Reads the pack whole and opens every blob its index entries name. Only "not found" and
  // damage are results; any other failure (the disk or network) stops the repair, since it says
  // nothing about the data.
  Result<PackCheckResult> CheckPack(const IndexedPack& pack) {
    PackCheckResult r;
    Result<Bytes> bytes = repo_->backend()->Get({ObjectType::kData, pack.pack_id.Hex()});
    if (bytes.status().code() == Code::kNotFound) {
      r.missing = true;
      return r;
    }
    if (!bytes.ok()) {
      if (bytes.status().code() != Code::kCorruption) return bytes.status().WithContext("read pack " + pack.pack_id.Hex());
      r.readable = false;
      r.problem = bytes.status().message();
      for (size_t i = 0; i < pack.blobs.size(); ++i) r.bad.push_back(i);
      return r;
    }
    r.bytes = bytes->size();
    if (Sha256(*bytes) != pack.pack_id) {
      r.name_matches = false;
      r.problem = "content does not match its name";
    }
    for (size_t i = 0; i < pack.blobs.size(); ++i) {
      const BlobEntry& e = pack.blobs[i];
      bool ok = e.offset <= bytes->size() && e.length <= bytes->size() - e.offset &&
                OpenBlob(e, ByteView(bytes->data() + e.offset, e.length), repo_->sealer(), repo_->hasher()).ok();
      if (!ok) r.bad.push_back(i);
    }
    return r;
  }

  // A blob of a dropped pack survives if a kept pack holds it, or if it is intact in some
  // dropped pack (then Salvage copies it out); otherwise it is lost.
  void FindLostBlobs() {
    std::unordered_set<Id> in_dropped[2];
    for (const Id& id : drop_)
      for (const BlobEntry& e : index_.packs.at(id).blobs) in_dropped[Slot(e.type)].insert(e.id);
    for (const auto& [id, pack] : index_.packs) {
      if (drop_.count(id)) continue;
      for (const BlobEntry& e : pack.blobs)
        if (in_dropped[Slot(e.type)].count(e.id)) kept_copy_[Slot(e.type)].insert(e.id);
    }
    std::vector<Id> sorted_drop(drop_.begin(), drop_.end());
    std::sort(sorted_drop.begin(), sorted_drop.end());
    for (const Id& id : sorted_drop) {
      const PackCheckResult& r = results_.at(id);
      const IndexedPack& pack = index_.packs.at(id);
      std::vector<bool> bad(pack.blobs.size(), r.missing);
      for (size_t i : r.bad) bad[i] = true;
      for (size_t i = 0; i < pack.blobs.size(); ++i) {
        const BlobEntry& e = pack.blobs[i];
        if (bad[i] || kept_copy_[Slot(e.type)].count(e.id)) continue;
        if (salvage_ids_[Slot(e.type)].insert(e.id).second) salvage_[id].push_back(i);
      }
    }
    for (const Id& id : sorted_drop)
      for (const BlobEntry& e : index_.packs.at(id).blobs) {
        int s = Slot(e.type);
        if (!kept_copy_[s].count(e.id) && !salvage_ids_[s].count(e.id) && lost_[s].insert(e.id).second)
          report_.blobs_lost++;
      }
    for (const auto& [pack, entries] : salvage_) report_.blobs_salvaged += entries.size();
  }

  bool Available(BlobType type, const Id& id) {
    if (lost_[Slot(type)].count(id)) return false;
    return repo_->FindBlob(type, id).ok();
  }

  // Whether anything below a tree cannot be restored. Memoized: a tree shared by many
  // snapshots is judged once.
  bool DamagedBelow(const Id& tree_id) {
    if (auto it = tree_damaged_.find(tree_id); it != tree_damaged_.end()) return it->second;
    bool damaged = false;
    Result<Tree> tree = Available(BlobType::kTree, tree_id) ? repo_->LoadTree(tree_id)
                                                            : Result<Tree>(Status::NotFound("lost"));
    if (!tree.ok()) {
      damaged = true;
    } else {
      for (const Node& n : tree->nodes) {
        if (n.type == NodeType::kDir && DamagedBelow(n.subtree)) damaged = true;
        if (n.type == NodeType::kFile)
          for (const Id& id : n.content)
            if (!Available(BlobType::kData, id)) {
              damaged = true;
              break;
            }
      }
    }
    tree_damaged_[tree_id] = damaged;
    return damaged;
  }

  // Names the files below a damaged tree and counts the blobs missing.
  void ListDamage(const Id& tree_id, const std::string& path, DamagedSnapshot* ds,
                  std::unordered_set<Id>* missing) {
    Result<Tree> tree = Available(BlobType::kTree, tree_id) ? repo_->LoadTree(tree_id)
                                                            : Result<Tree>(Status::NotFound("lost"));
    auto note = [&](const std::string& what) {
      ds->damaged_files++;
      if (ds->files.size() < kMaxDamagedFilesListed) ds->files.push_back(what);
    };
    if (!tree.ok()) {
      missing->insert(tree_id);
      note((path.empty() ? std::string(".") : path) + "/ (folder listing: everything below)");
      return;
    }
    for (const Node& n : tree->nodes) {
      std::string child = path.empty() ? n.name : path + "/" + n.name;
      if (n.type == NodeType::kDir && DamagedBelow(n.subtree)) ListDamage(n.subtree, child, ds, missing);
      if (n.type != NodeType::kFile) continue;
      bool whole = true;
      for (const Id& id : n.content)
        if (!Available(BlobType::kData, id)) {
          missing->insert(id);
          whole = false;
        }
      if (!whole) note(child);
    }
  }

  Status FindDamagedSnapshots() {
    ASSIGN_OR_RETURN(std::vector<SnapshotRef> snapshots, repo_->ListSnapshots());
    for (const auto& [name, problem] : repo_->damaged_snapshots())
      report_.unreadable_snapshots.push_back(name + ": " + problem);
    std::unordered_set<Id> now_damaged;
    for (const SnapshotRef& s : snapshots) {
      if (!DamagedBelow(s.snapshot.tree)) continue;
      DamagedSnapshot ds;
      ds.id = s.id;
      std::unordered_set<Id> missing;
      ListDamage(s.snapshot.tree, "", &ds, &missing);
      ds.missing_blobs = missing.size();
      now_damaged.insert(s.id);
      report_.damaged_snapshots.push_back(std::move(ds));
    }
    std::unordered_set<Id> existing;
    for (const SnapshotRef& s : snapshots) existing.insert(s.id);
    for (const DamagedSnapshot& d : previous_.current.damaged)
      if (existing.count(d.id) && !now_damaged.count(d.id)) report_.healed_snapshots++;
    return Status::OK();
  }

  // Copies the intact blobs nothing else holds out of the damaged packs, durably, before the
  // index stops naming those packs.
  Status Salvage() {
    for (const auto& [id, entries] : salvage_) {
      const IndexedPack& pack = index_.packs.at(id);
      ASSIGN_OR_RETURN(Bytes bytes, repo_->backend()->Get({ObjectType::kData, id.Hex()}));
      for (size_t i : entries) {
        const BlobEntry& e = pack.blobs[i];
        if (e.offset > bytes.size() || e.length > bytes.size() - e.offset)
          return Status::Corruption("pack " + id.Hex() + " changed while being repaired");
        ByteView envelope(bytes.data() + e.offset, e.length);
        // Checked again: the copy must be as good as the check said.
        RETURN_IF_ERROR_CTX(OpenBlob(e, envelope, repo_->sealer(), repo_->hasher()).status(),
                            "salvage from pack " + id.Hex());
        RETURN_IF_ERROR(repo_->AddSealed({e.type, e.id, e.raw_length, e.compression,
                                          Bytes(envelope.begin(), envelope.end())}).status());
      }
    }
    return repo_->Flush().WithContext("write salvaged blobs");
  }

  Status WriteChanges() {
    RepairRecord record;
    record.time_ns = now_;
    std::unordered_set<Id> quarantine;
    for (const Id& p : previous_.quarantined)
      if (stored_.count(p)) quarantine.insert(p);
    for (const Id& p : drop_)
      if (stored_.count(p)) quarantine.insert(p);
    for (const Id& p : quarantine) record.quarantined.push_back({p, stored_.at(p)});
    std::sort(record.quarantined.begin(), record.quarantined.end(),
              [](const PrunePack& a, const PrunePack& b) { return a.id < b.id; });
    record.damaged = report_.damaged_snapshots;
    std::sort(record.damaged.begin(), record.damaged.end(),
              [](const DamagedSnapshot& a, const DamagedSnapshot& b) { return a.id < b.id; });

    bool unchanged = drop_.empty() && previous_.problems.empty() && previous_.names.size() <= 1 &&
                     SameRecord(previous_.current, record);
    if (unchanged) return Status::OK();

    ASSIGN_OR_RETURN(IndexReplacement replacement, WriteReplacementIndexFiles(repo_, index_, drop_));
    report_.index_files_written += replacement.files_written;
    // The record goes before the old index files: from the moment a damaged pack is named by no
    // index file, it is recorded as quarantined.
    ASSIGN_OR_RETURN(report_.record, SaveRepairRecord(repo_->backend(), repo_->sealer(), record));
    RETURN_IF_ERROR(RemoveReplacedIndexFiles(repo_, replacement));
    report_.index_files_removed += replacement.replaced.size();
    for (const std::string& old : previous_.names)
      if (old != report_.record) RETURN_IF_ERROR_CTX(repo_->backend()->Delete({ObjectType::kRepair, old}), "remove repair record");
    return repo_->SyncIndex().WithContext("index");
  }

  static bool SameRecord(const RepairRecord& a, const RepairRecord& b) {
    if (a.quarantined.size() != b.quarantined.size() || a.damaged.size() != b.damaged.size()) return false;
    for (size_t i = 0; i < a.quarantined.size(); ++i)
      if (a.quarantined[i].id != b.quarantined[i].id) return false;
    std::vector<Id> x, y;
    for (const DamagedSnapshot& d : a.damaged) x.push_back(d.id);
    for (const DamagedSnapshot& d : b.damaged) y.push_back(d.id);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    if (x != y) return false;
    for (size_t i = 0; i < a.damaged.size(); ++i)
      for (const DamagedSnapshot& d : b.damaged)
        if (d.id == a.damaged[i].id && (d.missing_blobs != a.damaged[i].missing_blobs ||
                                        d.damaged_files != a.damaged[i].damaged_files))
          return false;
    return true;
  }

  Repository* repo_;
  const RepairOptions& options_;
  Reporter* reporter_;
  int64_t now_;
  RepairReport report_;
  IndexFileSet index_;
  LoadedRepairRecords previous_;
  std::map<Id, uint64_t> stored_;
  std::mutex mu_;
  std::map<Id, PackCheckResult> results_;  // GUARDED_BY(mu_) while checking
  std::unordered_set<Id> drop_;            // damaged or missing: out of the index
  std::unordered_set<Id> kept_copy_[2], salvage_ids_[2], lost_[2];
  std::map<Id, std::vector<size_t>> salvage_;  // pack -> entries to copy out
  std::unordered_map<Id, bool> tree_damaged_;
};

}  // namespace

Result<RepairReport> Repair(Repository* repo, const RepairOptions& options, Reporter* reporter) {
  Repairer r(repo, options, reporter);
  return r.Run();
}

Result<std::vector<DamagedSnapshot>> MarkedDamagedSnapshots(Repository* repo, std::vector<std::string>* problems) {
  ASSIGN_OR_RETURN(LoadedRepairRecords loaded, LoadRepairRecords(repo->backend(), repo->sealer()));
  if (problems) problems->insert(problems->end(), loaded.problems.begin(), loaded.problems.end());
  return std::move(loaded.current.damaged);
}

}  // namespace cairn
