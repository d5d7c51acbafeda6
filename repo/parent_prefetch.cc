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
  // One batched lookup for the folder, not one per blob.
  std::vector<Id> ids;
  for (const Node& node : tree.nodes)
    if (node.type == NodeType::kFile) ids.insert(ids.end(), node.content.begin(), node.content.end());
  std::vector<std::pair<Id, Id>> answers;
  if (ids.empty()) return true;
  // Lookup errors are left for the walk's own lookups to meet.
  Result<std::vector<std::optional<BlobLocation>>> found = repo_->index()->LookupMany(BlobType::kData, ids);
  if (!found.ok()) return true;
  for (size_t i = 0; i < ids.size(); ++i)
    if ((*found)[i]) answers.emplace_back(ids[i], (*found)[i]->pack);
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
