// Comparing two snapshots: what was added, removed, changed in content, or
// changed only in metadata. Unchanged subtrees (same tree id) are skipped
// without being loaded, so diffing two nightly snapshots costs little more
// than reading the directories that changed.
#pragma once

#include <functional>
#include <string>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

enum class Change { kAdded, kRemoved, kContent, kMetadata, kType };

const char* ChangeName(Change c);

struct DiffEntry {
  Change change;
  std::string path;
  const Node* before = nullptr;  // valid during the callback only
  const Node* after = nullptr;
};

struct DiffStats {
  uint64_t added = 0, removed = 0, content = 0, metadata = 0, type = 0;
  bool identical() const { return !added && !removed && !content && !metadata && !type; }
};

// Calls fn for every difference between the trees, in path order.
Result<DiffStats> DiffTrees(Repository* repo, const Id& before, const Id& after,
                            const std::function<void(const DiffEntry&)>& fn);

}  // namespace cairn
