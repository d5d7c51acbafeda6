// Trees: the directory listings of a snapshot, stored as blobs of type kTree.
// A tree's nodes are sorted by name bytewise and names are unique, so equal
// directories serialize to equal bytes and dedup to one blob.
#pragma once

#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

enum class NodeType : uint8_t { kFile = 1, kDir = 2, kSymlink = 3 };

// Node flags (a bit set; unknown bits are preserved and ignored by readers).
inline constexpr uint64_t kNodeChangedDuringRead = 1;  // size or mtime moved while reading

struct Node {
  std::string name;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0, device = 0;
  uint64_t size = 0;  // files: content bytes
  uint64_t flags = 0;
  std::string link_target;  // symlinks
  Id subtree;               // directories
  std::vector<Id> content;  // files: data blob ids in order
};

struct Tree {
  std::vector<Node> nodes;
};

// A name is valid if it is non-empty, not "." or "..", and contains no '/' or NUL.
// Restore relies on this to never leave its target folder.
bool IsValidNodeName(std::string_view name);

// REQUIRES: nodes sorted by name with unique valid names (SortTree does it).
Bytes EncodeTree(const Tree& tree);
// Rejects invalid names, unsorted or duplicate names, unknown types.
Result<Tree> DecodeTree(ByteView plaintext);
void SortTree(Tree* tree);

}  // namespace cairn
