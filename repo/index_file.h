// Index files (index/<id>): which blobs each pack holds, written by a writing
// session after its packs are durable. They make opening a repository fast;
// the packs' own trailers remain the truth (docs/FORMAT.md "Index files").
#pragma once

#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/pack.h"

namespace cairn {

struct IndexedPack {
  Id pack_id;
  uint64_t pack_size = 0;
  std::vector<BlobEntry> blobs;
};

Bytes EncodeIndexFile(const std::vector<IndexedPack>& packs);
Result<std::vector<IndexedPack>> DecodeIndexFile(ByteView plaintext);

}  // namespace cairn
