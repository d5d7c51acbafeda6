// Local chunks: the blob ids a local file's content would get if it were backed up now.
//
// Used where cairn compares live files with a snapshot without reading the repository's packs
// (`cairn diff SNAPSHOT PATH`) and where an in-place restore reuses the chunks already sitting
// in a target file. Ids depend on the repository's chunker parameters, gear table and id key, so
// the same content always gets the same ids as in that repository's snapshots.
#pragma once

#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct LocalChunk {
  Id id;
  uint64_t offset = 0;
  uint32_t length = 0;
};

// Chunks and hashes everything readable from fd (from its current offset to end of file), in
// order. `scratch`, if given, is reused as the chunker's buffer across calls. Thread-safe for
// distinct fds: the repository is only read.
Result<std::vector<LocalChunk>> ChunkLocalFile(const Repository& repo, int fd,
                                               Bytes* scratch = nullptr);

}  // namespace cairn
