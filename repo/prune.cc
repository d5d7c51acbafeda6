#include "repo/prune.h"

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "common/clock.h"
#include "repo/index_set.h"
#include "repo/pack.h"
#include "repo/prune_record.h"
#include "repo/repair_record.h"

namespace cairn {

namespace {

// Sweep markers only matter to writers that started before their mark. Writers refuse to commit
// after running this long (Repository::CheckNoSweepSinceStart), so older markers can go.
constexpr int64_t kSweepMarkerKeepNs = 30ll * 24 * 3600 * 1'000'000'000;

std::string Short(const Id& id) { return id.Hex().substr(0, 12); }

struct LoadedRecord {
  std::string name;
  PruneRecord record;
};

Result<std::vector<LoadedRecord>> LoadPruneRecords(Repository* repo) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(repo->backend()->List(ObjectType::kPrune, [&](const std::string& name, uint64_t) {
    names.push_back(name);
    return Status::OK();
  }));
  std::sort(names.begin(), names.end());
  std::vector<LoadedRecord> out;
  for (const std::string& name : names) {
    Result<PruneRecord> r = ReadPruneRecord(repo->backend(), repo->sealer(), name);
    // Pending packs are named by no index file: without the record, they look like orphans and
    // are found again by the next mark, so a damaged record costs time, never data. Still, stop:
    // damage should be looked at before anything is deleted.
    if (!r.ok())
      return r.status().WithContext("prune record " + name +
                                    " (inspect it, or remove it to let prune mark its packs again)");
    out.push_back({name, std::move(r).value()});
  }
  return out;
}

// Blobs reachable from the snapshots: tree ids in a hash set (few), data ids in a sorted vector
// (many; 32 bytes each, no per-entry overhead).
class ReachableSet {
 public:
  // `load_tree` loads a tree whether or not the index names its pack (a writer may have
  // deduplicated against a tree in a pack that an earlier mark dropped).
  Status MarkSnapshots(const std::vector<SnapshotRef>& snapshots,
                       const std::function<Result<Tree>(const Id&)>& load_tree) {
    std::vector<Id> stack;
    for (const SnapshotRef& s : snapshots) stack.push_back(s.snapshot.tree);
    while (!stack.empty()) {
      Id tree_id = stack.back();
      stack.pop_back();
      if (!trees_.insert(tree_id).second) continue;
      Result<Tree> tree = load_tree(tree_id);
      // Without this tree prune cannot know what lies below it, and would delete it.
      if (!tree.ok())
        return tree.status().WithContext("tree " + Short(tree_id) +
                                         " cannot be read; run `cairn scrub` before pruning");
      for (const Node& n : tree->nodes) {
        if (n.type == NodeType::kDir) stack.push_back(n.subtree);
        if (n.type == NodeType::kFile) data_.insert(data_.end(), n.content.begin(), n.content.end());
      }
      // Keeps the unsorted tail bounded on repositories with much duplicated content.
      if (data_.size() > 2 * sorted_ + (1u << 20)) Compact();
    }
    Compact();
    return Status::OK();
  }

  bool Contains(BlobType type, const Id& id) const {
    if (type == BlobType::kTree) return trees_.count(id) > 0;
    return std::binary_search(data_.begin(), data_.end(), id);
  }
  uint64_t trees() const { return trees_.size(); }
  uint64_t blobs() const { return trees_.size() + data_.size(); }

 private:
  void Compact() {
    std::sort(data_.begin(), data_.end());
    data_.erase(std::unique(data_.begin(), data_.end()), data_.end());
    sorted_ = data_.size();
  }
  std::unordered_set<Id> trees_;
  std::vector<Id> data_;
  size_t sorted_ = 0;
};

// Which copy of each reachable blob prune keeps. A blob stored in several packs is claimed by
// the fullest pack, so duplicates add to the unused share of the emptier ones.
class Claims {
 public:
  bool Claim(const BlobEntry& e) { return claimed_[static_cast<int>(e.type)].insert(e.id).second; }
  bool Claimed(const BlobEntry& e) const { return claimed_[static_cast<int>(e.type)].count(e.id) > 0; }

 private:
  std::unordered_set<Id> claimed_[2];
};

struct PackPlan {
  const IndexedPack* pack = nullptr;
  uint64_t used = 0;    // envelope bytes of blobs claimed here
  uint64_t unused = 0;  // envelope bytes of the others
  std::vector<const BlobEntry*> live;  // claimed here
};

class Pruner {
 public:
  Pruner(Repository* repo, const PruneOptions& options, Reporter* reporter)
      : repo_(repo), options_(options), reporter_(reporter),
        now_(options.now_ns ? options.now_ns : WallNowNs()) {}

  Result<PruneReport> Run() {
    if (options_.grace_ns < kMinPruneGraceNs && !options_.no_other_writers)
      return Status::InvalidArgument(
          "a grace period under 2h would make snapshots started since the mark refuse to commit "
          "(writers allow an hour of clock skew); to free space at once when nothing else writes, "
          "use --no-other-writers");
    RETURN_IF_ERROR_CTX(repo_->SyncIndex(), "index");
    ASSIGN_OR_RETURN(records_, LoadPruneRecords(repo_));
    ASSIGN_OR_RETURN(LoadedRepairRecords repairs, LoadRepairRecords(repo_->backend(), repo_->sealer()));
    // Without a record, a quarantined pack could be indexed again by the sweep.
    if (!repairs.problems.empty())
      return Status::Corruption(repairs.problems.front() + " (inspect it, or remove it and run `cairn repair` again)");
    quarantined_ = std::move(repairs.quarantined);
    for (const LoadedRecord& r : records_) {
      bool due = options_.no_other_writers || r.record.mark_time_ns + r.record.grace_ns <= now_;
      for (const PrunePack& p : r.record.packs) {
        pending_.insert(p.id);
        if (!due) {
          report_.waiting_packs++;
          report_.waiting_bytes += p.size;
          int64_t at = r.record.mark_time_ns + r.record.grace_ns;
          if (!report_.next_sweep_ns || at < report_.next_sweep_ns) report_.next_sweep_ns = at;
        }
      }
      if (due) due_.push_back(&r);
    }
    // Writers look for these markers when they commit; they must exist before the snapshots are
    // listed for the sweep's reachability check, or a writer could commit in between unseen.
    if (!options_.dry_run && !options_.no_other_writers) {
      // With no_other_writers the operator vouches that no writer is running: no session can
      // be at risk, and a marker would only make later sessions of the next hour refuse.
      for (const LoadedRecord* r : due_)
        RETURN_IF_ERROR(WriteSweepMarker(r->record.mark_time_ns));
    }

    RETURN_IF_ERROR(ReadIndexFiles());
    ASSIGN_OR_RETURN(std::vector<SnapshotRef> snapshots, repo_->ListSnapshots());
    if (!repo_->damaged_snapshots().empty()) {
      const auto& [name, problem] = *repo_->damaged_snapshots().begin();
      return Status::Corruption("snapshot " + name + " cannot be read (" + problem +
                                "): prune cannot tell what it references. `cairn forget` it first");
    }
    report_.snapshots = snapshots.size();
    RETURN_IF_ERROR(ReadDuePackTrees());
    RETURN_IF_ERROR(reachable_.MarkSnapshots(snapshots, [&](const Id& id) { return LoadTree(id); }));
    report_.trees = reachable_.trees();
    report_.blobs_reachable = reachable_.blobs();

    PlanPacks();
    RETURN_IF_ERROR(FindOrphans());
    if (options_.dry_run) return report_;

    RETURN_IF_ERROR(Repack());
    RETURN_IF_ERROR(RewriteIndex());
    RETURN_IF_ERROR(Sweep());
    RETURN_IF_ERROR(RemoveOldMarkers());
    if (options_.no_other_writers) {
      // Killed writers' partial uploads: only now is nothing else mid-Put.
      ASSIGN_OR_RETURN(report_.unfinished_put_bytes, repo_->backend()->DeleteUnfinishedPuts());
      report_.freed_bytes += report_.unfinished_put_bytes;
    }
    RETURN_IF_ERROR_CTX(repo_->SyncIndex(), "index");
    return report_;
  }

 private:
  Status WriteSweepMarker(int64_t mark_time_ns) {
    std::string name = SweepMarkerName({mark_time_ns, now_});
    return repo_->backend()->Put({ObjectType::kSweep, name}, {}).WithContext("write sweep marker");
  }

  // Trees in packs of due records: no index names them, yet a snapshot committed since the mark
  // may reach them, and the sweep must see everything below such a tree to keep it.
  Status ReadDuePackTrees() {
    for (const LoadedRecord* r : due_)
      for (const PrunePack& p : r->record.packs) {
        ObjectName name{ObjectType::kData, p.id.Hex()};
        Result<uint64_t> size = repo_->backend()->Stat(name);
        if (size.status().code() == Code::kNotFound) continue;
        RETURN_IF_ERROR(size.status());
        Result<std::vector<BlobEntry>> entries =
            ReadPackTrailer(*size, repo_->sealer(), [&](uint64_t offset, uint64_t length) {
              return repo_->backend()->GetRange(name, offset, length);
            });
        if (!entries.ok()) continue;  // unreadable: swept as unreferenced (SweepPack)
        for (const BlobEntry& e : *entries)
          if (e.type == BlobType::kTree) pending_trees_.try_emplace(e.id, p.id, e);
      }
    return Status::OK();
  }

  Result<Tree> LoadTree(const Id& id) {
    Result<Tree> tree = repo_->LoadTree(id);
    auto pending = pending_trees_.find(id);
    if (tree.ok() || pending == pending_trees_.end()) return tree;
    const auto& [pack, entry] = pending->second;
    ASSIGN_OR_RETURN(Bytes envelope, repo_->backend()->GetRange({ObjectType::kData, pack.Hex()},
                                                                entry.offset, entry.length));
    ASSIGN_OR_RETURN(Bytes plain, OpenBlob(entry, envelope, repo_->sealer(), repo_->hasher()));
    return DecodeTree(plain);
  }

  // Every index file as it stands now. Prune rewrites only files naming a pack it drops, and
  // leaves alone the ones writers add meanwhile.
  Status ReadIndexFiles() {
    ASSIGN_OR_RETURN(index_, ReadIndexFileSet(repo_, "pruning"));
    return Status::OK();
  }

  void PlanPacks() {
    // Potential use first, so each reachable blob is claimed by the fullest pack holding it.
    std::vector<PackPlan> plans;
    for (const auto& [id, pack] : index_.packs) {
      PackPlan plan{&pack, 0, 0, {}};
      for (const BlobEntry& e : pack.blobs)
        if (reachable_.Contains(e.type, e.id)) plan.used += e.length;
      plans.push_back(std::move(plan));
    }
    auto fuller = [](const PackPlan& a, const PackPlan& b) {
      // used / size, compared without division; ties by id for a stable plan.
      unsigned __int128 l = static_cast<unsigned __int128>(a.used) * b.pack->pack_size;
      unsigned __int128 r = static_cast<unsigned __int128>(b.used) * a.pack->pack_size;
      return l != r ? l > r : a.pack->pack_id < b.pack->pack_id;
    };
    std::sort(plans.begin(), plans.end(), fuller);
    for (PackPlan& plan : plans) {
      plan.used = 0;
      for (const BlobEntry& e : plan.pack->blobs)
        if (reachable_.Contains(e.type, e.id) && claims_.Claim(e)) {
          plan.used += e.length;
          plan.live.push_back(&e);
        }
    }

    uint64_t unused_in_kept = 0;
    std::vector<PackPlan*> partial;
    for (PackPlan& plan : plans) {
      uint64_t size = plan.pack->pack_size;
      report_.packs++;
      report_.pack_bytes += size;
      report_.used_bytes += plan.used;
      if (plan.live.empty()) {
        report_.unused_packs++;
        report_.unused_pack_bytes += size;
        drop_.insert(plan.pack->pack_id);
        continue;
      }
      // A pack's header and trailer are not reclaimable: only unclaimed blobs count as unused,
      // or every small pack would look worth repacking, run after run.
      plan.unused = 0;
      for (const BlobEntry& e : plan.pack->blobs) plan.unused += e.length;
      plan.unused -= plan.used;
      if (plan.unused == 0) continue;
      unused_in_kept += plan.unused;
      partial.push_back(&plan);
    }
    // The emptiest packs go first: each byte copied frees the most space.
    std::sort(partial.begin(), partial.end(), [](const PackPlan* a, const PackPlan* b) {
      return a->unused != b->unused ? a->unused > b->unused : a->pack->pack_id < b->pack->pack_id;
    });
    double limit = options_.max_unused_percent / 100.0 * static_cast<double>(report_.used_bytes);
    for (PackPlan* plan : partial) {
      if (static_cast<double>(unused_in_kept) <= limit || options_.max_unused_percent >= 100) break;
      unused_in_kept -= plan->unused;
      repack_.push_back(std::move(*plan));
      report_.repacked_packs++;
      report_.repacked_pack_bytes += plan->pack->pack_size;
      report_.repacked_live_bytes += plan->used;
    }
  }

  // Packs no index file names: a killed writer's, or a running writer's not yet indexed. They
  // join the record like dropped packs; the sweep keeps any that got indexed or needed meanwhile.
  Status FindOrphans() {
    return repo_->backend()->List(ObjectType::kData, [&](const std::string& name, uint64_t size) {
      Result<Id> id = Id::FromHex(name);
      if (!id.ok() || index_.packs.count(*id) || pending_.count(*id)) return Status::OK();
      orphans_.push_back({*id, size});
      report_.orphan_packs++;
      report_.orphan_bytes += size;
      return Status::OK();
    });
  }

  // Copies the live blobs of the chosen packs into new packs, checking each on the way: a
  // damaged blob is not copied, and its pack is then kept as it is (scrub reports it).
  Status Repack() {
    if (repack_.empty()) return Status::OK();
    if (reporter_) reporter_->Total(report_.repacked_pack_bytes);
    uint64_t done = 0;
    for (const PackPlan& plan : repack_) {
      const IndexedPack& pack = *plan.pack;
      Status checked = [&]() -> Status {
        ASSIGN_OR_RETURN(Bytes bytes, repo_->backend()->Get({ObjectType::kData, pack.pack_id.Hex()}));
        if (Sha256(bytes) != pack.pack_id) return Status::Corruption("content does not match its name");
        std::vector<SealedBlob> copies;
        for (const BlobEntry* e : plan.live) {
          if (e->offset + e->length > bytes.size()) return Status::Corruption("blob outside the pack");
          ByteView envelope(bytes.data() + e->offset, e->length);
          RETURN_IF_ERROR(OpenBlob(*e, envelope, repo_->sealer(), repo_->hasher()).status());
          copies.push_back({e->type, e->id, e->raw_length, e->compression,
                            Bytes(envelope.begin(), envelope.end())});
        }
        // The envelopes are copied as they are: blob envelopes do not depend on their pack.
        for (SealedBlob& c : copies) RETURN_IF_ERROR(repo_->AddSealed(std::move(c)).status());
        return Status::OK();
      }();
      if (checked.code() == Code::kCorruption) {
        report_.problems.push_back("pack " + pack.pack_id.Hex() + ": " + checked.message() +
                                   " (kept; not repacked)");
        report_.repacked_packs--;
        report_.repacked_pack_bytes -= pack.pack_size;
        report_.repacked_live_bytes -= plan.used;
        continue;
      }
      RETURN_IF_ERROR_CTX(checked, "repack " + Short(pack.pack_id));
      drop_.insert(pack.pack_id);
      done += pack.pack_size;
      if (reporter_) reporter_->Progress(done, "pack " + Short(pack.pack_id));
    }
    // New packs and their index file are durable before any index file stops naming the old.
    return repo_->Flush().WithContext("write repacked blobs");
  }

  // Replaces each index file that names a dropped pack by one naming the rest, records the
  // dropped packs, then removes the replaced files: new before old, so a crash leaves a pack
  // named twice (harmless), never a needed pack named nowhere.
  Status RewriteIndex() {
    ASSIGN_OR_RETURN(IndexReplacement replacement, WriteReplacementIndexFiles(repo_, index_, drop_));
    report_.index_files_written += replacement.files_written;

    PruneRecord record;
    record.mark_time_ns = now_;
    record.grace_ns = options_.grace_ns;
    for (const Id& p : drop_) record.packs.push_back({p, index_.packs.at(p).pack_size});
    for (const PrunePack& p : orphans_) record.packs.push_back(p);
    std::sort(record.packs.begin(), record.packs.end(),
              [](const PrunePack& a, const PrunePack& b) { return a.id < b.id; });
    if (!options_.no_other_writers && !record.packs.empty()) {
      Bytes sealed;
      repo_->sealer().Seal(EncodePruneRecord(record), SealDomain::kPruneRecord, &sealed);
      RETURN_IF_ERROR_CTX(repo_->backend()->Put({ObjectType::kPrune, Sha256(sealed).Hex()}, sealed),
                          "write prune record");
      for (const PrunePack& p : record.packs) {
        report_.marked_packs++;
        report_.marked_bytes += p.size;
        report_.waiting_packs++;
        report_.waiting_bytes += p.size;
      }
      int64_t at = now_ + options_.grace_ns;
      if (!report_.next_sweep_ns || at < report_.next_sweep_ns) report_.next_sweep_ns = at;
    }
    if (options_.no_other_writers) marked_now_ = std::move(record.packs);

    RETURN_IF_ERROR(RemoveReplacedIndexFiles(repo_, replacement));
    report_.index_files_removed += replacement.replaced.size();
    return Status::OK();
  }

  // Packs named by an index file now: the ones prune kept, plus any a writer indexed meanwhile.
  Result<std::unordered_set<Id>> CurrentlyIndexedPacks() {
    std::unordered_set<Id> named;
    for (const auto& [id, pack] : index_.packs)
      if (!drop_.count(id)) named.insert(id);
    std::vector<std::string> fresh;
    RETURN_IF_ERROR(repo_->backend()->List(ObjectType::kIndex, [&](const std::string& n, uint64_t) {
      if (!index_.files.count(n)) fresh.push_back(n);
      return Status::OK();
    }));
    for (const std::string& name : fresh) {
      ASSIGN_OR_RETURN(std::vector<IndexedPack> packs, repo_->ReadIndexFile(name));
      for (const IndexedPack& p : packs) named.insert(p.pack_id);
    }
    return named;
  }

  Status Sweep() {
    std::vector<PrunePack> candidates = marked_now_;
    for (const LoadedRecord* r : due_)
      candidates.insert(candidates.end(), r->record.packs.begin(), r->record.packs.end());
    if (candidates.empty()) return Status::OK();
    ASSIGN_OR_RETURN(std::unordered_set<Id> indexed, CurrentlyIndexedPacks());
    std::unordered_set<Id> seen;
    for (const PrunePack& p : candidates) {
      if (!seen.insert(p.id).second) continue;
      if (indexed.count(p.id)) {
        report_.reindexed_packs++;
        continue;
      }
      RETURN_IF_ERROR(SweepPack(p));
    }
    for (const LoadedRecord* r : due_)
      RETURN_IF_ERROR_CTX(repo_->backend()->Delete({ObjectType::kPrune, r->name}), "remove prune record");
    return Status::OK();
  }

  // Deletes a pending pack, unless it holds a blob that a snapshot needs and no kept pack has
  // (a writer that started before the mark deduplicated against it): then it is indexed again.
  Status SweepPack(const PrunePack& p) {
    ObjectName name{ObjectType::kData, p.id.Hex()};
    Result<uint64_t> size = repo_->backend()->Stat(name);
    if (size.status().code() == Code::kNotFound) return Status::OK();  // an earlier sweep's
    RETURN_IF_ERROR(size.status());
    Result<std::vector<BlobEntry>> entries =
        ReadPackTrailer(*size, repo_->sealer(), [&](uint64_t offset, uint64_t length) {
          return repo_->backend()->GetRange(name, offset, length);
        });
    // A pack repair quarantined had its intact blobs copied out; the blobs it still "holds" are
    // the damaged ones, which must not come back into the index.
    if (entries.ok() && !quarantined_.count(p.id)) {
      bool needed = false;
      for (const BlobEntry& e : *entries)
        if (reachable_.Contains(e.type, e.id) && !claims_.Claimed(e)) needed = true;
      if (needed) {
        for (const BlobEntry& e : *entries)
          if (reachable_.Contains(e.type, e.id)) claims_.Claim(e);
        RETURN_IF_ERROR_CTX(repo_->WriteIndexFile({IndexedPack{p.id, *size, *entries}}).status(),
                            "index pack " + Short(p.id) + " again");
        report_.index_files_written++;
        report_.reindexed_packs++;
        return Status::OK();
      }
    } else if (!entries.ok() && entries.status().code() != Code::kCorruption) {
      return entries.status().WithContext("pack " + Short(p.id));
    }
    // An unreadable trailer: nothing can be restored from the pack through the index, and a
    // rebuild from packs would skip it too. It goes like any unreferenced pack.
    RETURN_IF_ERROR_CTX(repo_->backend()->Delete(name), "delete pack " + Short(p.id));
    report_.deleted_packs++;
    report_.freed_bytes += *size;
    return Status::OK();
  }

  Status RemoveOldMarkers() {
    std::vector<std::string> old;
    RETURN_IF_ERROR(repo_->backend()->List(ObjectType::kSweep, [&](const std::string& n, uint64_t) {
      Result<SweepMarker> m = ParseSweepMarkerName(n);
      if (m.ok() && m->sweep_time_ns + kSweepMarkerKeepNs < now_) old.push_back(n);
      return Status::OK();
    }));
    for (const std::string& n : old) RETURN_IF_ERROR(repo_->backend()->Delete({ObjectType::kSweep, n}));
    return Status::OK();
  }

  Repository* repo_;
  const PruneOptions& options_;
  Reporter* reporter_;
  int64_t now_;
  PruneReport report_;
  std::vector<LoadedRecord> records_;
  std::vector<const LoadedRecord*> due_;
  std::unordered_set<Id> pending_;                    // packs of every record, due or not
  IndexFileSet index_;
  std::unordered_set<Id> quarantined_;  // by repair (repo/repair_record.h)
  std::unordered_map<Id, std::pair<Id, BlobEntry>> pending_trees_;  // tree id -> (pack, entry)
  ReachableSet reachable_;
  Claims claims_;
  std::unordered_set<Id> drop_;  // unused or repacked: no longer indexed after this run
  std::vector<PackPlan> repack_;
  std::vector<PrunePack> orphans_;
  std::vector<PrunePack> marked_now_;  // no_other_writers: swept by this same run
};

}  // namespace

Result<PruneReport> Prune(Repository* repo, const PruneOptions& options, Reporter* reporter) {
  return Pruner(repo, options, reporter).Run();
}

}  // namespace cairn
