#include "repo/parent_prefetch.h"

namespace cairn {

ParentBlobPrefetch::ParentBlobPrefetch(Repository* repo, Tree root) : repo_(repo) {
  trees_.emplace(repo, std::move(root), [this](const Tree& tree) { return LookUp(tree); });
}

ParentBlobPrefetch::~ParentBlobPrefetch() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  room_.notify_all();
  trees_.reset();  // joins the thread before the members it uses go
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

bool ParentBlobPrefetch::LookUp(const Tree& tree) {
  // A folder's answers are published together: taking the lock once per blob made the walk,
  // which takes it for every file, wait on it.
  std::vector<std::pair<Id, Id>> answers;
  for (const Node& node : tree.nodes) {
    if (node.type != NodeType::kFile) continue;
    for (const Id& id : node.content) {
      // Lookup errors are left for the walk's own lookup to meet.
      Result<std::optional<BlobLocation>> loc = repo_->index()->Lookup(BlobType::kData, id);
      if (loc.ok() && loc->has_value()) answers.emplace_back(id, (*loc)->pack);
    }
  }
  size_t i = 0;
  while (i < answers.size()) {
    std::unique_lock<std::mutex> l(mu_);
    room_.wait(l, [&] { return stop_ || found_.size() < kMaxWaiting; });
    if (stop_) return false;
    for (; i < answers.size() && found_.size() < kMaxWaiting; ++i) found_.insert(answers[i]);
  }
  return true;
}

}  // namespace cairn
