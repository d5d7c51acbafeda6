// FastCDC content-defined chunking with normalized chunking (Xia et al., 2016/2020).
//
// The gear table is derived from a per-repository secret, so chunk boundaries
// (and hence chunk sizes) reveal nothing about content to someone without the key.
// FindBoundary is a pure function: no I/O, no state, deterministic for fixed
// inputs; tests pin its output on fixed data.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/io.h"
#include "common/status.h"

namespace cairn {

struct ChunkerParams {
  uint32_t min_size = 0;
  uint32_t avg_size = 0;  // a power of two
  uint32_t max_size = 0;

  // min <= avg <= max, avg a power of two in [256 B, 64 MiB], max <= 64 MiB, min >= 64.
  Status Validate() const;
  static ChunkerParams Default();
};

class GearTable {
 public:
  // Derives the 256 64-bit gear values from a 32-byte secret (HMAC-SHA-256 in counter mode;
  // see docs/FORMAT.md "Chunker"): gear[4k + j] is the j-th little-endian u64 of
  // HMAC-SHA-256(key32, "cairn-gear" || u32le(k)), k = 0..63.
  // REQUIRES: key32.size() == 32.
  static GearTable FromKey(ByteView key32);
  uint64_t operator[](uint8_t b) const { return g_[b]; }
  const uint64_t* data() const { return g_.data(); }

 private:
  std::array<uint64_t, 256> g_{};
};

// Returns the length of the first chunk of `data`. If data.size() <= params.min_size the whole
// input is one chunk; the result never exceeds params.max_size. The caller must pass at least
// max_size bytes unless the input ends sooner (then the tail is a chunk of its own).
// The cut rule (masks, where hashing starts) is part of the on-disk format and is spelled
// out in fastcdc.cc; chunker/fastcdc_test.cc pins its output.
// REQUIRES: params.Validate().ok().
size_t FindBoundary(const GearTable& gear, const ChunkerParams& params, ByteView data);

// Splits a Reader's bytes into chunks. Memory: one buffer of 2 * max_size.
// Not thread-safe; one Chunker per input. `gear` and `reader` must outlive the Chunker.
// The chunks equal those of repeated FindBoundary over the whole input, however the
// reader splits its reads. After Next() returns an error the Chunker must not be reused.
// REQUIRES: params.Validate().ok().
class Chunker {
 public:
  // scratch, if given, is used as the buffer (grown as needed, up to 2 * max_size), so one
  // buffer can serve many inputs in turn; it must outlive the Chunker.
  Chunker(const GearTable& gear, const ChunkerParams& params, Reader* reader,
          Bytes* scratch = nullptr);
  // Returns the next chunk, or nullopt at the end of input. The view is valid
  // until the next call.
  Result<std::optional<ByteView>> Next();
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  static constexpr size_t kMinWindow = 1 << 20;  // the first size of a window that grows

  Status Fill();
  const GearTable& gear_;
  ChunkerParams params_;
  Reader* reader_;
  Bytes own_;
  Bytes* buf_;
  size_t start_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
};

}  // namespace cairn
