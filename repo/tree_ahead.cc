#include "repo/tree_ahead.h"

namespace cairn {

TreeAhead::TreeAhead(Repository* repo, Tree root, OnTree on_tree)
    : repo_(repo),
      on_tree_(std::move(on_tree)),
      thread_([this, root = std::move(root)]() mutable { Run(std::move(root)); }) {}

TreeAhead::TreeAhead(Repository* repo, const Id& root_id)
    : repo_(repo), thread_([this, root_id] {
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

bool TreeAhead::stopping() const {
  std::lock_guard<std::mutex> l(mu_);
  return stop_;
}

std::shared_ptr<const Tree> TreeAhead::Take(const Id& id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return nullptr;
  std::shared_ptr<const Tree> tree = it->second.tree;
  uint64_t seq = it->second.seq;
  // Everything loaded before it, the walk has passed (see the header): dropped with it.
  for (auto s = by_seq_.begin(); s != by_seq_.end() && s->first <= seq; s = by_seq_.erase(s)) {
    auto w = waiting_.find(s->second);
    waiting_nodes_ -= w->second.tree->nodes.size();
    waiting_.erase(w);
  }
  room_.notify_one();
  return tree;
}

Result<std::shared_ptr<const Tree>> TreeAhead::Load(Repository* repo, TreeAhead* ahead, const Id& id) {
  if (ahead) {
    if (std::shared_ptr<const Tree> tree = ahead->Take(id)) return tree;
  }
  ASSIGN_OR_RETURN(Tree tree, repo->LoadTree(id));
  return std::shared_ptr<const Tree>(std::make_shared<const Tree>(std::move(tree)));
}

void TreeAhead::Run(Tree root) {
  if (on_tree_ && !on_tree_(root)) return;
  Walk(root);
}

bool TreeAhead::Publish(const Id& id, std::shared_ptr<const Tree> tree) {
  std::unique_lock<std::mutex> l(mu_);
  room_.wait(l, [&] { return stop_ || waiting_.empty() || waiting_nodes_ + tree->nodes.size() <= kMaxWaitingNodes; });
  if (stop_) return false;
  // The same folder content twice in a snapshot is one tree: the walk takes it once, and loads
  // it itself the second time.
  if (waiting_.find(id) == waiting_.end()) {
    uint64_t seq = next_seq_++;
    waiting_nodes_ += tree->nodes.size();
    waiting_.emplace(id, Waiting{std::move(tree), seq});
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
    if (on_tree_ && !on_tree_(*sub)) return false;
    if (!Walk(*sub)) return false;
  }
  return true;
}

}  // namespace cairn
