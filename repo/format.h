// Constants of the repository format. Each one is specified in docs/FORMAT.md;
// change neither without changing the other (and the format version).
#pragma once

#include <cstdint>

namespace cairn {

// The repository format version written into `config`. See docs/FORMAT.md "Versions".
inline constexpr uint32_t kFormatVersion = 1;
// Oldest format version this build can open.
inline constexpr uint32_t kOldestReadableFormat = 1;

// Versions of the binary structures (first byte of each plaintext).
inline constexpr uint8_t kPackTrailerVersion = 1;
inline constexpr uint8_t kIndexFileVersion = 1;
inline constexpr uint8_t kTreeVersion = 1;
inline constexpr uint8_t kSnapshotVersion = 1;

// Pack files start and end with this magic: "CAIRNPK" and the pack layout version.
// It lets `file` and humans recognise a pack and find the trailer from the end.
inline constexpr char kPackMagic[8] = {'C', 'A', 'I', 'R', 'N', 'P', 'K', 1};
inline constexpr uint64_t kPackMagicSize = 8;
// Bytes after the trailer envelope: u32 trailer-envelope length + magic.
inline constexpr uint64_t kPackFooterSize = 4 + kPackMagicSize;

enum class BlobType : uint8_t { kData = 0, kTree = 1 };

// Limits that bound what a parser will accept from a (possibly hostile) repository.
inline constexpr uint64_t kMaxBlobRawSize = 64ull << 20;     // >= max chunk size, trees
inline constexpr uint64_t kMaxTrailerSize = 256ull << 20;
inline constexpr uint64_t kMaxNameBytes = 4096;
inline constexpr uint64_t kMaxStringBytes = 1ull << 20;
// Smallest encodings, used to reject hostile element counts before allocating:
// a blob entry is type(1) + id(32) + three varints (>= 1 each) + compression(1);
// a tree node is 13 one-byte fields at least, plus a name of >= 1 byte with its length.
inline constexpr uint64_t kMinBlobEntryBytes = 37;
inline constexpr uint64_t kMinNodeBytes = 15;

// Default pack target size. A pack is closed as soon as it reaches it.
inline constexpr uint64_t kDefaultPackSize = 16ull << 20;
// zstd level 1: on the DR benchmark corpus it is about 1.5x faster than level 3 for ~5% more
// stored bytes (docs/BENCHMARKS.md); `cairn init --compression-level` chooses otherwise.
inline constexpr int kDefaultCompressionLevel = 1;

}  // namespace cairn
