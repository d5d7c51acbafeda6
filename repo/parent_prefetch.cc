#include "repo/parent_prefetch.h"

namespace cairn {

ParentBlobPrefetch::ParentBlobPrefetch(Repository* repo, Tree root)
    : repo_(repo), thread_([this, root = std::move(root)]() mutable { Run(std::move(root)); }) {}

ParentBlobPrefetch::~ParentBlobPrefetch() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  room_.notify_all();
  thread_.join();
}

std::optional<Id> ParentBlobPrefetch::TakePack(const Id& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = found_.find(id);
  if (it == found_.end()) return std::nullopt;
  Id pack = it->second;
  found_.erase(it);
  room_.notify_one();
  return pack;
}

void ParentBlobPrefetch::Run(Tree root) { Walk(root); }

void ParentBlobPrefetch::Walk(const Tree& tree) {
  for (const Node& node : tree.nodes) {
    if (stop_) return;
    if (node.type == NodeType::kDir) {
      // An unreadable tree is the walk's business: it meets the same error and reports it.
      Result<Tree> sub = repo_->LoadTree(node.subtree);
      if (sub.ok()) Walk(*sub);
      continue;
    }
    if (node.type != NodeType::kFile) continue;
    for (const Id& id : node.content) {
      // Lookup errors are left for the walk's own lookup to meet.
      Result<std::optional<BlobLocation>> loc = repo_->index()->Lookup(BlobType::kData, id);
      if (!loc.ok() || !loc->has_value()) continue;
      std::unique_lock<std::mutex> l(mu_);
      room_.wait(l, [&] { return stop_ || found_.size() < kMaxWaiting; });
      if (stop_) return;
      found_.emplace(id, (*loc)->pack);
    }
  }
}

}  // namespace cairn
