#include "repo/scrub.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "common/task_group.h"
#include "repo/walker.h"

namespace cairn {

namespace {

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
    for (const auto& [name, size] : stored_)
      if (!indexed.count(name))
        Add(false, "pack " + name,
            "not in any index file (left by an interrupted writer; `cairn index rebuild "
            "--from-packs` adopts it, prune will reclaim it)");
    report_.packs = stored_.size();
    return Status::OK();
  }

  Status ReadPacks() {
    std::vector<std::pair<Id, uint64_t>> todo;
    for (const auto& [name, size] : stored_) {
      Result<Id> id = Id::FromHex(name);
      if (id.ok() && Selected(*id, options_)) todo.emplace_back(*id, size);
    }
    int threads = options_.threads > 0 ? options_.threads : DefaultThreads();
    TaskGroup pool(threads, threads);
    for (const auto& [id, size] : todo)
      pool.Submit([this, id = id, size = size] { return ReadPack(id, size); });
    return pool.Wait();
  }

  Status ReadPack(const Id& pack, uint64_t size) {
    std::string name = pack.Hex();
    Result<Bytes> bytes = repo_->backend()->Get({ObjectType::kData, name});
    if (!bytes.ok()) {
      Add(true, "pack " + name, "unreadable: " + bytes.status().message());
      return Status::OK();
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      ++report_.packs_read;
      report_.bytes_read += bytes->size();
      if (reporter_) reporter_->Progress(report_.bytes_read, "pack " + pack.ShortHex());
    }
    if (bytes->size() != size || Sha256(*bytes) != pack)
      Add(true, "pack " + name, "content does not match its name (damaged)");
    Result<std::vector<BlobEntry>> entries =
        ReadPackTrailer(bytes->size(), repo_->sealer(), [&](uint64_t off, uint64_t len) -> Result<Bytes> {
          return Bytes(bytes->begin() + static_cast<ptrdiff_t>(off),
                       bytes->begin() + static_cast<ptrdiff_t>(off + len));
        });
    if (!entries.ok()) {
      Add(true, "pack " + name, "trailer: " + entries.status().message());
      // Without the trailer, fall back to the index's view of the pack's blobs.
    }
    std::vector<BlobEntry> blobs;
    if (entries.ok()) {
      blobs = std::move(entries).value();
    } else {
      RETURN_IF_ERROR(repo_->index()->ForEachBlob([&](const BlobLocation& loc) {
        if (loc.pack == pack) blobs.push_back(loc.entry);
        return Status::OK();
      }));
    }
    for (const BlobEntry& e : blobs) {
      if (e.offset + e.length > bytes->size()) {
        MarkDamaged(e, "lies outside the pack");
        continue;
      }
      ByteView envelope(bytes->data() + e.offset, e.length);
      Result<Bytes> plain = OpenBlob(e, envelope, repo_->sealer(), repo_->hasher());
      std::lock_guard<std::mutex> l(mu_);
      ++report_.blobs_read;
      if (!plain.ok()) {
        if (e.type == BlobType::kTree) damaged_trees_.insert(e.id); else damaged_blobs_.insert(e.id);
        report_.findings.push_back(Finding{true, "pack " + name, plain.status().message(), {}});
      }
    }
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
  std::unordered_set<Id> damaged_blobs_, damaged_trees_;  // GUARDED_BY(mu_) while reading
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

Result<ScrubReport> Scrub(Repository* repo, const ScrubOptions& options, Reporter* reporter) {
  Scrubber s(repo, options, reporter);
  return s.Run();
}

}  // namespace cairn
