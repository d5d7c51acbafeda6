// Walking a snapshot's trees: the one traversal ls, restore selection, diff and
// scrub share. Paths are relative to the snapshot root and use '/'.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

// Calls fn(path, node) for every node under tree `root`, depth first, parents before children,
// siblings in name order. fn returns false to skip a directory's children.
Status WalkTree(Repository* repo, const Id& root, const std::string& prefix,
                const std::function<Result<bool>(const std::string& path, const Node& node)>& fn);

// Finds the node at `path` ("a/b/c") below tree `root`. kNotFound if absent.
Result<Node> FindNode(Repository* repo, const Id& root, const std::string& path);

// The tree id of the directory at `path` below `root` (root itself for an empty path).
// kNotFound if absent, kInvalidArgument if it is not a directory.
Result<Id> SubtreeAt(Repository* repo, const Id& root, const std::string& path);

// Splits "a//b/c/" into {"a","b","c"}; rejects "." and ".." components.
Result<std::vector<std::string>> SplitSnapshotPath(const std::string& path);

}  // namespace cairn
