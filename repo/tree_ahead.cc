#include "repo/tree_ahead.h"

namespace cairn {

TreeAhead::TreeAhead(Repository* repo, Tree root, bool look_up_data)
    : repo_(repo), look_up_data_(look_up_data), thread_([this, root = std::move(root)] { Walk(root); }) {}

TreeAhead::TreeAhead(Repository* repo, const Id& root_id)
    : repo_(repo), look_up_data_(false), thread_([this, root_id] {
        // An unreadable root is the walk's business, as any other tree.
        Result<Tree> root = repo_->LoadTree(root_id);
        if (!root.ok()) return;
        auto shared = std::make_shared<const Tree>(std::move(root).value());
        if (Publish(root_id, shared)) Walk(*shared);
      }) {}

TreeAhead::~TreeAhead() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  room_.notify_all();
  thread_.join();
}

TreeAhead::Loaded TreeAhead::Take(const Id& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return Loaded{};
  Loaded loaded = std::move(it->second.loaded);
  size_t nodes = loaded.tree->nodes.size();
  uint64_t seq = it->second.seq;
  waiting_.erase(it);
  by_seq_.erase(seq);
  waiting_nodes_ -= nodes;
  // Everything loaded before it, the walk has passed (see the header): dropped.
  for (auto s = by_seq_.begin(); s != by_seq_.end() && s->first < seq; s = by_seq_.erase(s)) {
    auto w = waiting_.find(s->second);
    waiting_nodes_ -= w->second.loaded.tree->nodes.size();
    waiting_.erase(w);
  }
  room_.notify_one();
  return loaded;
}

Result<TreeAhead::Loaded> TreeAhead::Load(Repository* repo, TreeAhead* ahead, const Id& id) {
  if (ahead) {
    if (Loaded loaded = ahead->Take(id); loaded.tree) return loaded;
  }
  ASSIGN_OR_RETURN(Tree tree, repo->LoadTree(id));
  return Loaded{std::make_shared<const Tree>(std::move(tree)), {}};
}

bool TreeAhead::Publish(const Id& id, std::shared_ptr<const Tree> tree) {
  Loaded loaded{std::move(tree), {}};
  if (look_up_data_) {
    std::vector<Id> ids;
    for (const Node& node : loaded.tree->nodes)
      if (node.type == NodeType::kFile) ids.insert(ids.end(), node.content.begin(), node.content.end());
    // A failed lookup is left for the walk's own lookups to meet.
    Result<std::vector<std::optional<BlobLocation>>> found = repo_->index()->LookupMany(BlobType::kData, ids);
    if (found.ok()) {
      loaded.data_packs.reserve(ids.size());
      for (const std::optional<BlobLocation>& loc : *found)
        loaded.data_packs.push_back(loc ? std::optional<Id>(loc->pack) : std::nullopt);
    }
  }
  size_t nodes = loaded.tree->nodes.size();
  std::unique_lock<std::mutex> l(mu_);
  room_.wait(l, [&] { return stop_ || waiting_.empty() || waiting_nodes_ + nodes <= kMaxWaitingNodes; });
  if (stop_) return false;
  // The same folder content twice in a snapshot is one tree: the walk takes it once, and loads
  // it itself the second time.
  if (waiting_.find(id) == waiting_.end()) {
    uint64_t seq = next_seq_++;
    waiting_nodes_ += nodes;
    waiting_.emplace(id, Waiting{std::move(loaded), seq});
    by_seq_.emplace(seq, id);
  }
  return true;
}

bool TreeAhead::Walk(const Tree& tree) {
  for (const Node& node : tree.nodes) {
    if (node.type != NodeType::kDir) continue;
    // An unreadable tree is the walk's business: it meets the same error and reports it.
    Result<Tree> loaded = repo_->LoadTree(node.subtree);
    if (!loaded.ok()) continue;
    auto sub = std::make_shared<const Tree>(std::move(loaded).value());
    if (!Publish(node.subtree, sub)) return false;
    if (!Walk(*sub)) return false;
  }
  return true;
}

}  // namespace cairn
