#include "store/compress.h"

#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace cairn {

namespace {

// zstd contexts are expensive to create (hundreds of KiB of tables), so each
// thread keeps one of each for its lifetime.
class ThreadZstd {
 public:
  ThreadZstd() : cctx_(ZSTD_createCCtx()), dctx_(ZSTD_createDCtx()) {
    if (cctx_ == nullptr || dctx_ == nullptr) {
      std::fprintf(stderr, "cairn: fatal: cannot allocate zstd context\n");
      std::abort();
    }
  }
  ~ThreadZstd() {
    ZSTD_freeCCtx(cctx_);
    ZSTD_freeDCtx(dctx_);
  }
  ThreadZstd(const ThreadZstd&) = delete;
  ThreadZstd& operator=(const ThreadZstd&) = delete;
  ZSTD_CCtx* cctx() { return cctx_; }
  ZSTD_DCtx* dctx() { return dctx_; }

 private:
  ZSTD_CCtx* cctx_;
  ZSTD_DCtx* dctx_;
};

ThreadZstd& Zstd() {
  thread_local ThreadZstd zstd;
  return zstd;
}

void AppendRaw(ByteView raw, Bytes* out) { out->insert(out->end(), raw.begin(), raw.end()); }

}  // namespace

Compression CompressBlob(ByteView raw, int level, Bytes* out) {
  if (raw.empty()) return Compression::kNone;
  // The output buffer is only as large as a worthwhile result: zstd then fails
  // with dstSize_tooSmall for incompressible data, which is exactly the
  // "store raw" signal, and we never allocate ZSTD_compressBound bytes.
  const size_t limit = raw.size() - raw.size() / 32;
  const size_t start = out->size();
  out->resize(start + limit);
  size_t n =
      ZSTD_compressCCtx(Zstd().cctx(), out->data() + start, limit, raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) {
    out->resize(start);
    AppendRaw(raw, out);
    return Compression::kNone;
  }
  out->resize(start + n);
  return Compression::kZstd;
}

Result<ByteView> DecompressBlobInto(Compression method, ByteView stored, uint64_t raw_size,
                                    Bytes* scratch) {
  switch (method) {
    case Compression::kNone:
      if (stored.size() != raw_size) {
        return Status::Corruption("uncompressed blob has " + std::to_string(stored.size()) +
                                  " bytes, expected " + std::to_string(raw_size));
      }
      return stored;

    case Compression::kZstd: {
      // Check the header before allocating, and insist on exactly one frame:
      // trailing bytes or a second frame mean the blob is not what was written.
      unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
      if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
        return Status::Corruption("invalid zstd frame header");
      }
      if (content != raw_size) {
        return Status::Corruption("zstd frame holds " + std::to_string(content) +
                                  " bytes, expected " + std::to_string(raw_size));
      }
      size_t frame = ZSTD_findFrameCompressedSize(stored.data(), stored.size());
      if (ZSTD_isError(frame) || frame != stored.size()) {
        return Status::Corruption("zstd frame is truncated or has trailing bytes");
      }
      GrowScratch(scratch, static_cast<size_t>(raw_size));
      size_t n = ZSTD_decompressDCtx(Zstd().dctx(), scratch->data(), static_cast<size_t>(raw_size),
                                     stored.data(), stored.size());
      if (ZSTD_isError(n)) {
        return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(n));
      }
      if (n != raw_size) {
        return Status::Corruption("zstd produced " + std::to_string(n) + " bytes, expected " +
                                  std::to_string(raw_size));
      }
      return ByteView(scratch->data(), n);
    }
  }
  return Status::Corruption("unknown compression method " +
                            std::to_string(static_cast<int>(method)));
}

Result<Bytes> DecompressBlob(Compression method, ByteView stored, uint64_t raw_size) {
  Bytes scratch;
  ASSIGN_OR_RETURN(ByteView raw, DecompressBlobInto(method, stored, raw_size, &scratch));
  if (raw.data() == scratch.data() && raw.size() == scratch.size()) return scratch;
  return Bytes(raw.begin(), raw.end());
}

}  // namespace cairn
