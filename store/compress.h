// Per-blob zstd compression. Incompressible data is detected and stored raw,
// so restore never pays for decompressing random bytes.
// Thread safety: all functions may be called concurrently (thread-local contexts).
#pragma once

#include <cstdint>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

// Compresses raw at the given zstd level and appends the result to out, if
// that saves at least 1/32 of the size. Returns the method used: with kNone,
// raw itself was appended.
Compression CompressBlob(ByteView raw, int level, Bytes* out);

// Inverse of CompressBlob. The output must be exactly raw_size bytes, else Corruption.
Result<Bytes> DecompressBlob(Compression method, ByteView stored, uint64_t raw_size);
// The same, into *scratch, which only grows (a buffer reused blob after blob is neither zeroed
// nor faulted in again). The result views *scratch, or `stored` itself when it is not
// compressed; valid until the next call with the same scratch.
Result<ByteView> DecompressBlobInto(Compression method, ByteView stored, uint64_t raw_size,
                                    Bytes* scratch);

}  // namespace cairn
