#include "repo/tree.h"

#include <algorithm>

#include "repo/format.h"

namespace cairn {

bool IsValidNodeName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > kMaxNameBytes) return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

void SortTree(Tree* tree) {
  std::sort(tree->nodes.begin(), tree->nodes.end(),
            [](const Node& a, const Node& b) { return a.name < b.name; });
}

Bytes EncodeTree(const Tree& tree) {
  Encoder enc;
  enc.U8(kTreeVersion);
  enc.Varint(tree.nodes.size());
  for (const Node& n : tree.nodes) {
    enc.Str(n.name);
    enc.U8(static_cast<uint8_t>(n.type));
    enc.Varint(n.mode);
    enc.Varint(n.uid);
    enc.Varint(n.gid);
    enc.Str(n.user);
    enc.Str(n.group);
    enc.SignedVarint(n.mtime_ns);
    enc.SignedVarint(n.ctime_ns);
    enc.Varint(n.inode);
    enc.Varint(n.device);
    enc.Varint(n.size);
    enc.Varint(n.flags);
    switch (n.type) {
      case NodeType::kFile:
        enc.Varint(n.content.size());
        for (const Id& id : n.content) enc.PutId(id);
        break;
      case NodeType::kDir:
        enc.PutId(n.subtree);
        break;
      case NodeType::kSymlink:
        enc.Str(n.link_target);
        break;
    }
  }
  return enc.Take();
}

Result<Tree> DecodeTree(ByteView plaintext) {
  Decoder dec(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, dec.U8());
  if (version != kTreeVersion)
    return Status::Corruption("unsupported tree version " + std::to_string(version));
  ASSIGN_OR_RETURN(uint64_t count, dec.Varint());
  if (count > dec.remaining() / kMinNodeBytes) return Status::Corruption("tree: node count too large");
  Tree tree;
  tree.nodes.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    Node& n = tree.nodes[i];
    ASSIGN_OR_RETURN(n.name, dec.Str(kMaxNameBytes));
    if (!IsValidNodeName(n.name))
      return Status::Corruption("tree: invalid entry name '" + n.name.substr(0, 64) + "'");
    if (i > 0 && !(tree.nodes[i - 1].name < n.name))
      return Status::Corruption("tree: entries unsorted or duplicated at '" + n.name + "'");
    ASSIGN_OR_RETURN(uint8_t type, dec.U8());
    if (type < 1 || type > 3) return Status::Corruption("tree: unknown node type");
    n.type = static_cast<NodeType>(type);
    ASSIGN_OR_RETURN(uint64_t mode, dec.Varint());
    if (mode > 07777) return Status::Corruption("tree: bad mode");
    n.mode = static_cast<uint32_t>(mode);
    ASSIGN_OR_RETURN(uint64_t uid, dec.Varint());
    ASSIGN_OR_RETURN(uint64_t gid, dec.Varint());
    if (uid > UINT32_MAX || gid > UINT32_MAX) return Status::Corruption("tree: bad owner");
    n.uid = static_cast<uint32_t>(uid);
    n.gid = static_cast<uint32_t>(gid);
    ASSIGN_OR_RETURN(n.user, dec.Str(kMaxNameBytes));
    ASSIGN_OR_RETURN(n.group, dec.Str(kMaxNameBytes));
    ASSIGN_OR_RETURN(n.mtime_ns, dec.SignedVarint());
    ASSIGN_OR_RETURN(n.ctime_ns, dec.SignedVarint());
    ASSIGN_OR_RETURN(n.inode, dec.Varint());
    ASSIGN_OR_RETURN(n.device, dec.Varint());
    ASSIGN_OR_RETURN(n.size, dec.Varint());
    ASSIGN_OR_RETURN(n.flags, dec.Varint());
    switch (n.type) {
      case NodeType::kFile: {
        ASSIGN_OR_RETURN(uint64_t nc, dec.Varint());
        if (nc > dec.remaining() / Id::kSize) return Status::Corruption("tree: content too long");
        n.content.reserve(nc);
        for (uint64_t k = 0; k < nc; ++k) {
          ASSIGN_OR_RETURN(Id id, dec.GetId());
          n.content.push_back(id);
        }
        break;
      }
      case NodeType::kDir: {
        ASSIGN_OR_RETURN(n.subtree, dec.GetId());
        break;
      }
      case NodeType::kSymlink: {
        ASSIGN_OR_RETURN(n.link_target, dec.Str(kMaxStringBytes));
        break;
      }
    }
  }
  if (!dec.done()) return Status::Corruption("tree: trailing bytes");
  return tree;
}

}  // namespace cairn
