// Pack files: many sealed blobs followed by a sealed trailer listing them.
//
//   magic(8) | blob envelope ... | trailer envelope | u32 LE trailer length | magic(8)
//
// A pack is self-describing: the trailer alone says which blobs it holds and
// where, so the index can always be rebuilt from data/ (docs/FORMAT.md "Packs").
// A pack is named by the SHA-256 of its bytes.
#pragma once

#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/format.h"
#include "store/compress.h"
#include "store/crypto.h"

namespace cairn {

// Where one blob sits inside a pack.
struct BlobEntry {
  BlobType type = BlobType::kData;
  Id id;
  uint64_t offset = 0;      // of the envelope, from the start of the pack
  uint64_t length = 0;      // envelope length
  uint64_t raw_length = 0;  // plaintext length after decompression
  Compression compression = Compression::kNone;
  bool operator==(const BlobEntry&) const = default;
};

SealDomain BlobDomain(BlobType type);

void EncodeBlobEntry(const BlobEntry& e, Encoder* enc);
Result<BlobEntry> DecodeBlobEntry(Decoder* dec);

// A blob ready to be appended: already compressed and sealed.
struct SealedBlob {
  BlobType type = BlobType::kData;
  Id id;
  uint64_t raw_length = 0;
  Compression compression = Compression::kNone;
  Bytes envelope;
};

// Hashes, compresses and seals one plaintext blob. Pure and thread-safe.
SealedBlob SealBlob(BlobType type, const Id& id, ByteView plaintext, int level, const Sealer& sealer);

// Accumulates blobs in memory and produces the finished pack bytes.
// Not thread-safe.
class PackBuilder {
 public:
  // reserve_bytes: the expected pack size, so the buffer does not regrow while a lock is held.
  explicit PackBuilder(size_t reserve_bytes = 0);
  void Add(const SealedBlob& blob);
  uint64_t size_bytes() const { return buf_.size(); }
  size_t count() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<BlobEntry>& entries() const { return entries_; }

  // Appends the trailer and footer; returns the finished pack and resets the builder.
  Bytes Finish(const Sealer& sealer);

 private:
  Bytes buf_;
  size_t reserve_bytes_;
  std::vector<BlobEntry> entries_;
};

// Parses a pack's trailer given the pack's total size and a function reading a byte range.
// Validates every entry (inside the blob area, no overlaps, sane lengths).
Result<std::vector<BlobEntry>> ReadPackTrailer(
    uint64_t pack_size, const Sealer& sealer,
    const std::function<Result<Bytes>(uint64_t offset, uint64_t length)>& read);

// Decodes a sealed trailer body (exposed for fuzzing and tests).
Result<std::vector<BlobEntry>> DecodeTrailer(ByteView plaintext, uint64_t blob_area_end);

// True when the pack's envelopes leave no byte unauthenticated: the leading magic is intact and
// the trailer's entries tile [8, trailer offset) back to back. `entries` must come from
// ReadPackTrailer on these bytes (which checked the footer and opened the trailer). Once every
// listed envelope has also opened and matched its id, every byte of the pack has been verified,
// and hashing the whole pack against its name would prove nothing more about the data
// (docs/FORMAT.md 14.2).
bool EnvelopesCoverPack(ByteView pack, const std::vector<BlobEntry>& entries);

// Opens, decompresses and authenticates one blob given its envelope bytes.
// Checks that the plaintext hashes to entry.id, so a swapped blob is detected.
Result<Bytes> OpenBlob(const BlobEntry& entry, ByteView envelope, const Sealer& sealer,
                       const IdHasher& hasher);

}  // namespace cairn
