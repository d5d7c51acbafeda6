#include "repo/local_chunks.h"

#include "chunker/fastcdc.h"
#include "common/io.h"

namespace cairn {

Result<std::vector<LocalChunk>> ChunkLocalFile(const Repository& repo, int fd, Bytes* scratch) {
  FdReader reader(fd);
  Chunker chunker(repo.gear(), repo.config().chunker, &reader, scratch);
  std::vector<LocalChunk> chunks;
  uint64_t offset = 0;
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<ByteView> chunk, chunker.Next());
    if (!chunk) break;
    chunks.push_back({repo.hasher().Hash(*chunk), offset, static_cast<uint32_t>(chunk->size())});
    offset += chunk->size();
  }
  return chunks;
}

}  // namespace cairn
