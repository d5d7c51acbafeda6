#include "repo/stats.h"

#include <unordered_map>
#include <unordered_set>

namespace cairn {

namespace {

struct BlobKey {
  BlobType type;
  Id id;
  bool operator==(const BlobKey& o) const { return type == o.type && id == o.id; }
};
struct BlobKeyHash {
  size_t operator()(const BlobKey& k) const { return std::hash<Id>()(k.id) ^ static_cast<size_t>(k.type); }
};

// Calls fn for each distinct blob a snapshot references (its trees and its files' chunks).
Status ForEachBlobOf(Repository* repo, const Snapshot& snap, SnapshotUsage* usage,
                     const std::function<void(const BlobKey&)>& fn) {
  std::unordered_set<BlobKey, BlobKeyHash> seen;
  std::vector<Id> stack{snap.tree};
  while (!stack.empty()) {
    Id tree_id = stack.back();
    stack.pop_back();
    if (!seen.insert({BlobType::kTree, tree_id}).second) continue;
    fn({BlobType::kTree, tree_id});
    ASSIGN_OR_RETURN_CTX(Tree tree, repo->LoadTree(tree_id), "tree " + tree_id.Hex());
    for (const Node& n : tree.nodes) {
      if (n.type == NodeType::kDir) stack.push_back(n.subtree);
      if (n.type != NodeType::kFile) continue;
      if (usage) {
        usage->files++;
        usage->raw_bytes += n.size;
      }
      for (const Id& id : n.content)
        if (seen.insert({BlobType::kData, id}).second) fn({BlobType::kData, id});
    }
  }
  return Status::OK();
}

}  // namespace

Result<RepoUsage> ComputeUsage(Repository* repo) {
  RepoUsage usage;
  ASSIGN_OR_RETURN(std::vector<SnapshotRef> snapshots, repo->ListSnapshots());
  std::unordered_map<BlobKey, uint32_t, BlobKeyHash> refs;
  for (const SnapshotRef& s : snapshots) {
    SnapshotUsage u;
    u.ref = s;
    RETURN_IF_ERROR(ForEachBlobOf(repo, s.snapshot, &u, [&](const BlobKey& k) {
      refs[k]++;
      u.blobs++;
    }));
    usage.raw_bytes += u.raw_bytes;
    usage.snapshots.push_back(std::move(u));
  }
  for (const auto& [key, count] : refs) {
    ASSIGN_OR_RETURN(std::optional<BlobLocation> loc, repo->index()->Lookup(key.type, key.id));
    if (!loc) {
      usage.missing_blobs++;
      continue;
    }
    usage.blobs++;
    if (key.type == BlobType::kData) usage.unique_raw_bytes += loc->entry.raw_length;
    usage.stored_bytes += loc->entry.length;
  }
  for (SnapshotUsage& u : usage.snapshots) {
    RETURN_IF_ERROR(ForEachBlobOf(repo, u.ref.snapshot, nullptr, [&](const BlobKey& k) {
      if (refs[k] != 1) return;
      u.unique_blobs++;
      Result<std::optional<BlobLocation>> loc = repo->index()->Lookup(k.type, k.id);
      if (!loc.ok() || !*loc) return;
      u.unique_raw_bytes += (*loc)->entry.raw_length;
      u.unique_stored_bytes += (*loc)->entry.length;
    }));
  }
  RETURN_IF_ERROR(repo->index()->ForEachPack([&](const Id&, uint64_t size) {
    usage.packs++;
    usage.pack_bytes += size;
    return Status::OK();
  }));
  return usage;
}

}  // namespace cairn
