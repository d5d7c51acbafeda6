// EnvelopesCoverPack decides when scrub may skip hashing a whole pack, so it must say "covered"
// only when the listed envelopes really leave no byte between the magic and the trailer.
#include <gtest/gtest.h>

#include <vector>

#include "repo/pack.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

struct BuiltPack {
  Bytes bytes;
  std::vector<BlobEntry> entries;
};

BuiltPack Build(const Sealer& sealer, const IdHasher& hasher, size_t blobs) {
  PackBuilder builder;
  for (size_t i = 0; i < blobs; ++i) {
    Bytes plain = testing::RandomData(1000 + 300 * i, static_cast<uint32_t>(i + 1));
    builder.Add(SealBlob(BlobType::kData, hasher.Hash(plain), plain, 3, sealer));
  }
  BuiltPack p;
  p.bytes = builder.Finish(sealer);
  Result<std::vector<BlobEntry>> entries =
      ReadPackTrailer(p.bytes.size(), sealer, [&](uint64_t off, uint64_t len) -> Result<Bytes> {
        return Bytes(p.bytes.begin() + off, p.bytes.begin() + off + len);
      });
  EXPECT_TRUE(entries.ok()) << entries.status().ToString();
  if (entries.ok()) p.entries = *entries;
  return p;
}

Key32 Key(uint8_t start) {
  Key32 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(start + i);
  return k;
}

TEST(EnvelopesCoverPack, PacksAsWrittenAreCoveredInAnyEntryOrder) {
  for (bool encrypt : {true, false}) {
    Sealer sealer(Key(1), encrypt);
    IdHasher hasher(Key(2));
    for (size_t n : {1, 3, 20}) {
      BuiltPack p = Build(sealer, hasher, n);
      EXPECT_TRUE(EnvelopesCoverPack(p.bytes, p.entries)) << n;
      std::vector<BlobEntry> reversed(p.entries.rbegin(), p.entries.rend());
      EXPECT_TRUE(EnvelopesCoverPack(p.bytes, reversed)) << n;
    }
  }
}

TEST(EnvelopesCoverPack, AGapOrADamagedMagicIsNotCovered) {
  Sealer sealer(Key(1), true);
  IdHasher hasher(Key(2));
  BuiltPack p = Build(sealer, hasher, 3);
  for (size_t drop = 0; drop < p.entries.size(); ++drop) {
    std::vector<BlobEntry> fewer = p.entries;
    fewer.erase(fewer.begin() + static_cast<ptrdiff_t>(drop));
    EXPECT_FALSE(EnvelopesCoverPack(p.bytes, fewer)) << "without entry " << drop;
  }
  std::vector<BlobEntry> shorter = p.entries;
  shorter.back().length -= 1;
  EXPECT_FALSE(EnvelopesCoverPack(p.bytes, shorter));
  std::vector<BlobEntry> overlapping = p.entries;
  overlapping[1].offset -= 1;
  EXPECT_FALSE(EnvelopesCoverPack(p.bytes, overlapping));
  EXPECT_FALSE(EnvelopesCoverPack(p.bytes, {}));

  Bytes bad_magic = p.bytes;
  bad_magic[3] ^= 1;
  EXPECT_FALSE(EnvelopesCoverPack(bad_magic, p.entries));
  Bytes bad_length = p.bytes;
  bad_length[bad_length.size() - kPackFooterSize] ^= 1;  // the trailer length's low byte
  EXPECT_FALSE(EnvelopesCoverPack(bad_length, p.entries));
  EXPECT_FALSE(EnvelopesCoverPack(Bytes(10, 0), {}));
}

}  // namespace
}  // namespace cairn
