#include "repo/diff.h"

namespace cairn {

namespace {

bool SameMetadata(const Node& a, const Node& b) {
  return a.mode == b.mode && a.uid == b.uid && a.gid == b.gid && a.mtime_ns == b.mtime_ns &&
         a.user == b.user && a.group == b.group;
}

class Differ {
 public:
  Differ(Repository* repo, const std::function<void(const DiffEntry&)>& fn) : repo_(repo), fn_(fn) {}

  Status Compare(const Id* before, const Id* after, const std::string& prefix) {
    if (before && after && *before == *after) return Status::OK();  // identical subtree
    Tree empty, a, b;
    if (before) {
      ASSIGN_OR_RETURN(a, repo_->LoadTree(*before));
    }
    if (after) {
      ASSIGN_OR_RETURN(b, repo_->LoadTree(*after));
    }
    size_t i = 0, j = 0;
    while (i < a.nodes.size() || j < b.nodes.size()) {
      const Node* x = i < a.nodes.size() ? &a.nodes[i] : nullptr;
      const Node* y = j < b.nodes.size() ? &b.nodes[j] : nullptr;
      if (x && (!y || x->name < y->name)) {
        RETURN_IF_ERROR(Side(Change::kRemoved, x, prefix));
        ++i;
      } else if (y && (!x || y->name < x->name)) {
        RETURN_IF_ERROR(Side(Change::kAdded, y, prefix));
        ++j;
      } else {
        RETURN_IF_ERROR(Both(*x, *y, prefix));
        ++i, ++j;
      }
    }
    return Status::OK();
  }

  DiffStats stats;

 private:
  std::string Path(const std::string& prefix, const Node& n) {
    return prefix.empty() ? n.name : prefix + "/" + n.name;
  }

  void Emit(Change c, const std::string& path, const Node* before, const Node* after) {
    switch (c) {
      case Change::kAdded: ++stats.added; break;
      case Change::kRemoved: ++stats.removed; break;
      case Change::kContent: ++stats.content; break;
      case Change::kMetadata: ++stats.metadata; break;
      case Change::kType: ++stats.type; break;
    }
    fn_(DiffEntry{c, path, before, after});
  }

  // A whole entry present on one side only; a folder's contents are listed too.
  Status Side(Change c, const Node* n, const std::string& prefix) {
    std::string path = Path(prefix, *n);
    Emit(c, path, c == Change::kRemoved ? n : nullptr, c == Change::kAdded ? n : nullptr);
    if (n->type != NodeType::kDir) return Status::OK();
    return c == Change::kRemoved ? Compare(&n->subtree, nullptr, path) : Compare(nullptr, &n->subtree, path);
  }

  Status Both(const Node& x, const Node& y, const std::string& prefix) {
    std::string path = Path(prefix, x);
    if (x.type != y.type) {
      Emit(Change::kType, path, &x, &y);
      if (x.type == NodeType::kDir) RETURN_IF_ERROR(Compare(&x.subtree, nullptr, path));
      if (y.type == NodeType::kDir) RETURN_IF_ERROR(Compare(nullptr, &y.subtree, path));
      return Status::OK();
    }
    bool content = x.type == NodeType::kFile      ? (x.content != y.content || x.size != y.size)
                   : x.type == NodeType::kSymlink ? x.link_target != y.link_target
                                                  : false;
    if (content) Emit(Change::kContent, path, &x, &y);
    else if (!SameMetadata(x, y)) Emit(Change::kMetadata, path, &x, &y);
    if (x.type == NodeType::kDir) return Compare(&x.subtree, &y.subtree, path);
    return Status::OK();
  }

  Repository* repo_;
  const std::function<void(const DiffEntry&)>& fn_;
};

}  // namespace

const char* ChangeName(Change c) {
  switch (c) {
    case Change::kAdded: return "added";
    case Change::kRemoved: return "removed";
    case Change::kContent: return "modified";
    case Change::kMetadata: return "metadata";
    case Change::kType: return "type";
  }
  return "?";
}

Result<DiffStats> DiffTrees(Repository* repo, const Id& before, const Id& after,
                            const std::function<void(const DiffEntry&)>& fn) {
  Differ d(repo, fn);
  RETURN_IF_ERROR(d.Compare(&before, &after, ""));
  return d.stats;
}

}  // namespace cairn
