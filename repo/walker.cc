#include "repo/walker.h"

namespace cairn {

Result<std::vector<std::string>> SplitSnapshotPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (part == "." || part == "..")
      return Status::InvalidArgument("path components '.' and '..' are not allowed: " + path);
    if (!part.empty()) parts.push_back(part);
    i = j + 1;
  }
  return parts;
}

Status WalkTree(Repository* repo, const Id& root, const std::string& prefix,
                const std::function<Result<bool>(const std::string&, const Node&)>& fn) {
  ASSIGN_OR_RETURN(Tree tree, repo->LoadTree(root));
  for (const Node& node : tree.nodes) {
    std::string path = prefix.empty() ? node.name : prefix + "/" + node.name;
    ASSIGN_OR_RETURN(bool descend, fn(path, node));
    if (descend && node.type == NodeType::kDir)
      RETURN_IF_ERROR(WalkTree(repo, node.subtree, path, fn));
  }
  return Status::OK();
}

Result<Node> FindNode(Repository* repo, const Id& root, const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitSnapshotPath(path));
  if (parts.empty()) return Status::InvalidArgument("empty path");
  Id tree_id = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    ASSIGN_OR_RETURN(Tree tree, repo->LoadTree(tree_id));
    const Node* found = nullptr;
    for (const Node& n : tree.nodes)
      if (n.name == parts[i]) found = &n;
    if (!found) return Status::NotFound("no " + path + " in the snapshot");
    if (i + 1 == parts.size()) return *found;
    if (found->type != NodeType::kDir) return Status::NotFound(path + ": not a directory on the way");
    tree_id = found->subtree;
  }
  return Status::NotFound(path);
}

Result<Id> SubtreeAt(Repository* repo, const Id& root, const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitSnapshotPath(path));
  if (parts.empty()) return root;
  ASSIGN_OR_RETURN(Node node, FindNode(repo, root, path));
  if (node.type != NodeType::kDir)
    return Status::InvalidArgument("'" + path + "' is not a directory in the snapshot");
  return node.subtree;
}

}  // namespace cairn
