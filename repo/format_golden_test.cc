// Golden files of repository format v1 (tests/data/format-v1/README.md).
//
// The files were written by tests/make_golden.cc and are decoded by every build. Once format
// v1 is released they are never regenerated or edited. If a test here fails,
// the code has changed the format that existing repositories are written in: fix the code,
// or define a new format version (docs/FORMAT.md "Versions") that still reads these bytes.
//
// This file: the standalone plaintext structures, envelopes and an unencrypted pack.
// repo/format_golden_repo_test.cc: the golden repositories.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "repo/format_golden_util.h"
#include "repo/index_file.h"
#include "repo/pack.h"
#include "repo/snapshot.h"
#include "repo/tree.h"

namespace cairn {
namespace {

using golden::Golden;
using golden::OpenByHand;
using golden::OpenOnlyAs;
using golden::Text;

// The fixed values of the standalone golden files (README.md).
Id FixedId(uint8_t first) {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(first + i);
  return id;
}
Key32 FixedKey(uint8_t start) {
  Key32 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(start + i);
  return k;
}

void ExpectEntry(const BlobEntry& e, BlobType type, uint8_t id, uint64_t offset, uint64_t length,
                 uint64_t raw_length, Compression c) {
  EXPECT_EQ(e.type, type);
  EXPECT_EQ(e.id, FixedId(id));
  EXPECT_EQ(e.offset, offset);
  EXPECT_EQ(e.length, length);
  EXPECT_EQ(e.raw_length, raw_length);
  EXPECT_EQ(e.compression, c);
}

Bytes EncodeTrailerPlaintext(const std::vector<BlobEntry>& entries) {
  Encoder enc;
  enc.U8(kPackTrailerVersion);
  enc.Varint(entries.size());
  for (const BlobEntry& e : entries) EncodeBlobEntry(e, &enc);
  return enc.Take();
}

// Same generators as tests/make_golden.cc.
Bytes PseudoRandom(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    b[i] = static_cast<uint8_t>(s >> 24);
  }
  return b;
}
Bytes Lines(size_t count, const std::string& what) {
  std::string s;
  char buf[96];
  for (size_t i = 0; i < count; ++i) {
    std::snprintf(buf, sizeof(buf), "line %06zu of the %s\n", i, what.c_str());
    s += buf;
  }
  return Text(s);
}

// ---------------------------------------------------------------- plaintext structures

TEST(FormatGolden, PackTrailerPlaintext) {
  Bytes golden = Golden("pack_trailer.bin");
  // The bytes themselves, so the encoding primitives are pinned independently of Encoder.
  EXPECT_EQ(ToHex(golden),
            "010300101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f089c20802000"
            "00303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4fa420840880800401"
            "01505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6fa828ac02e80701");
  Result<std::vector<BlobEntry>> entries = DecodeTrailer(golden, 5460);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);
  ExpectEntry((*entries)[0], BlobType::kData, 0x10, 8, 4124, 4096, Compression::kNone);
  ExpectEntry((*entries)[1], BlobType::kData, 0x30, 4132, 1028, 65536, Compression::kZstd);
  ExpectEntry((*entries)[2], BlobType::kTree, 0x50, 5160, 300, 1000, Compression::kZstd);
  EXPECT_EQ(EncodeTrailerPlaintext(*entries), golden);
  // The last blob ends at 5460: a smaller blob area puts it outside the pack.
  EXPECT_FALSE(DecodeTrailer(golden, 5459).ok());
}

TEST(FormatGolden, IndexFilePlaintext) {
  Bytes golden = Golden("index_file.bin");
  Result<std::vector<IndexedPack>> packs = DecodeIndexFile(golden);
  ASSERT_TRUE(packs.ok()) << packs.status().ToString();
  ASSERT_EQ(packs->size(), 2u);
  const IndexedPack& a = (*packs)[0];
  EXPECT_EQ(a.pack_id.Hex(), "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
  EXPECT_EQ(a.pack_size, 5600u);
  ASSERT_EQ(a.blobs.size(), 3u);
  ExpectEntry(a.blobs[0], BlobType::kData, 0x10, 8, 4124, 4096, Compression::kNone);
  ExpectEntry(a.blobs[1], BlobType::kData, 0x30, 4132, 1028, 65536, Compression::kZstd);
  ExpectEntry(a.blobs[2], BlobType::kTree, 0x50, 5160, 300, 1000, Compression::kZstd);
  const IndexedPack& b = (*packs)[1];
  EXPECT_EQ(b.pack_id, FixedId(0xc0));
  EXPECT_EQ(b.pack_size, 300000u);
  ASSERT_EQ(b.blobs.size(), 2u);
  ExpectEntry(b.blobs[0], BlobType::kTree, 0xe0, 8, 200028, 200000, Compression::kNone);
  ExpectEntry(b.blobs[1], BlobType::kData, 0xf0, 200036, 50000, 1 << 20, Compression::kZstd);
  EXPECT_EQ(EncodeIndexFile(*packs), golden);
}

TEST(FormatGolden, TreePlaintext) {
  Bytes golden = Golden("tree.bin");
  Result<Tree> tree = DecodeTree(golden);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ASSERT_EQ(tree->nodes.size(), 5u);
  const std::vector<Node>& n = tree->nodes;

  EXPECT_EQ(n[0].name, "dir");
  EXPECT_EQ(n[0].type, NodeType::kDir);
  EXPECT_EQ(n[0].mode, 0755u);
  EXPECT_EQ(n[0].uid, 1000u);
  EXPECT_EQ(n[0].gid, 1000u);
  EXPECT_EQ(n[0].user, "alice");
  EXPECT_EQ(n[0].group, "staff");
  EXPECT_EQ(n[0].mtime_ns, 1700000000123456789);
  EXPECT_EQ(n[0].ctime_ns, 1700000001000000000);
  EXPECT_EQ(n[0].inode, 1234567u);
  EXPECT_EQ(n[0].device, 2049u);
  EXPECT_EQ(n[0].size, 0u);
  EXPECT_EQ(n[0].flags, 0u);
  EXPECT_EQ(n[0].subtree, FixedId(0x70));
  EXPECT_TRUE(n[0].content.empty());
  EXPECT_TRUE(n[0].link_target.empty());

  EXPECT_EQ(n[1].name, "file.txt");
  EXPECT_EQ(n[1].type, NodeType::kFile);
  EXPECT_EQ(n[1].mode, 0644u);
  EXPECT_EQ(n[1].uid, 0u);
  EXPECT_EQ(n[1].gid, 0u);
  EXPECT_EQ(n[1].user, "root");
  EXPECT_EQ(n[1].group, "root");
  EXPECT_EQ(n[1].mtime_ns, -1);
  EXPECT_EQ(n[1].ctime_ns, -1234567890123);
  EXPECT_EQ(n[1].inode, (uint64_t{1} << 40) + 1);
  EXPECT_EQ(n[1].device, 0u);
  EXPECT_EQ(n[1].size, 300000u);
  EXPECT_EQ(n[1].flags, kNodeChangedDuringRead);
  EXPECT_EQ(n[1].content, (std::vector<Id>{FixedId(0x10), FixedId(0x30), FixedId(0x10)}));
  EXPECT_TRUE(n[1].subtree.IsZero());

  EXPECT_EQ(n[2].name, "link");
  EXPECT_EQ(n[2].type, NodeType::kSymlink);
  EXPECT_EQ(n[2].mode, 0777u);
  EXPECT_EQ(n[2].uid, 4294967295u);
  EXPECT_EQ(n[2].gid, 65534u);
  EXPECT_EQ(n[2].user, "");
  EXPECT_EQ(n[2].group, "nogroup");
  EXPECT_EQ(n[2].mtime_ns, 0);
  EXPECT_EQ(n[2].ctime_ns, 0);
  EXPECT_EQ(n[2].inode, 0u);
  EXPECT_EQ(n[2].size, 0u);
  EXPECT_EQ(n[2].link_target, "../target/\xc3\xa9t\xc3\xa9");

  EXPECT_EQ(n[3].name, "\xc3\xa9t\xc3\xa9");  // sorts after ASCII: bytes compare unsigned
  EXPECT_EQ(n[3].type, NodeType::kFile);
  EXPECT_EQ(n[3].mode, 0600u);
  EXPECT_EQ(n[3].user, "alice");
  EXPECT_EQ(n[3].mtime_ns, 1700000000000000000);
  EXPECT_EQ(n[3].inode, 99u);
  EXPECT_EQ(n[3].size, 0u);
  EXPECT_TRUE(n[3].content.empty());

  EXPECT_EQ(n[4].name, "\xff\xfe-raw");  // not UTF-8: names are bytes
  EXPECT_EQ(n[4].type, NodeType::kDir);
  EXPECT_EQ(n[4].mode, 0700u);
  EXPECT_EQ(n[4].subtree, FixedId(0x71));

  EXPECT_EQ(EncodeTree(*tree), golden);
  // The sort order is part of the encoding: any input order encodes to the same bytes.
  Tree shuffled = *tree;
  std::reverse(shuffled.nodes.begin(), shuffled.nodes.end());
  SortTree(&shuffled);
  EXPECT_EQ(EncodeTree(shuffled), golden);
}

TEST(FormatGolden, SnapshotPlaintext) {
  Bytes golden = Golden("snapshot.bin");
  Result<Snapshot> s = DecodeSnapshot(golden);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->time_ns, 1700000000000000000);
  EXPECT_EQ(s->host, "golden-host");
  EXPECT_EQ(s->user, "alice");
  EXPECT_EQ(s->paths, (std::vector<std::string>{"/home/alice/docs", "/etc/h\xc3\xb4te"}));
  EXPECT_EQ(s->tags, (std::vector<std::string>{"daily", "v1"}));
  EXPECT_EQ(s->kind, "files");
  EXPECT_EQ(s->stdin_name, "");
  EXPECT_EQ(s->tree, FixedId(0x80));
  EXPECT_EQ(s->parent, FixedId(0x90));
  EXPECT_EQ(s->flags, kSnapshotPartial);
  EXPECT_TRUE(s->partial());
  EXPECT_EQ(s->stats.files, 3u);
  EXPECT_EQ(s->stats.dirs, 1u);
  EXPECT_EQ(s->stats.symlinks, 1u);
  EXPECT_EQ(s->stats.bytes_raw, 300000u);
  EXPECT_EQ(s->stats.blobs_added, 2u);
  EXPECT_EQ(s->stats.bytes_added_raw, 69632u);
  EXPECT_EQ(s->stats.bytes_added_stored, 5152u);
  EXPECT_EQ(s->stats.errors, 1u);
  EXPECT_EQ(EncodeSnapshot(*s), golden);
}

// The smallest blob entries (37 bytes, every varint one byte) and nothing else: the entry
// count is exactly the bound a decoder derives from the remaining bytes (docs/FORMAT.md
// section 12). A bound of 38 bytes per entry rejected these, and with them every pack whose
// only blob is tiny (an empty directory's tree, an empty stream's root tree).
TEST(FormatGolden, TinyPackTrailerPlaintext) {
  Bytes golden = Golden("pack_trailer_tiny.bin");
  EXPECT_EQ(golden.size(), 2 + 5 * 37u);
  EXPECT_EQ(ToHex(golden),
            "0105"
            "00101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f081c0000"
            "00303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f241d0100"
            "01505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f411e0200"
            "00707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f5f1f0300"
            "00909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf7e200400");
  Result<std::vector<BlobEntry>> entries = DecodeTrailer(golden, 158);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 5u);
  ExpectEntry((*entries)[0], BlobType::kData, 0x10, 8, 28, 0, Compression::kNone);
  ExpectEntry((*entries)[1], BlobType::kData, 0x30, 36, 29, 1, Compression::kNone);
  ExpectEntry((*entries)[2], BlobType::kTree, 0x50, 65, 30, 2, Compression::kNone);
  ExpectEntry((*entries)[3], BlobType::kData, 0x70, 95, 31, 3, Compression::kNone);
  ExpectEntry((*entries)[4], BlobType::kData, 0x90, 126, 32, 4, Compression::kNone);
  EXPECT_EQ(EncodeTrailerPlaintext(*entries), golden);
  EXPECT_FALSE(DecodeTrailer(golden, 157).ok());
  // Claiming a sixth entry is over the bound (and there is none).
  Bytes more = golden;
  more[1] = 6;
  EXPECT_FALSE(DecodeTrailer(more, 158).ok());
}

TEST(FormatGolden, TinyIndexFilePlaintext) {
  Bytes golden = Golden("index_file_tiny.bin");
  // version, count, pack 0xa0 (id, size 385 in 2 bytes, 5, 5 entries), pack 0xc0 (id, 115, 1, entry)
  EXPECT_EQ(golden.size(), 2 + (32 + 2 + 1 + 5 * 37) + (32 + 1 + 1 + 37u));
  Result<std::vector<IndexedPack>> packs = DecodeIndexFile(golden);
  ASSERT_TRUE(packs.ok()) << packs.status().ToString();
  ASSERT_EQ(packs->size(), 2u);
  const IndexedPack& a = (*packs)[0];
  EXPECT_EQ(a.pack_id, FixedId(0xa0));
  EXPECT_EQ(a.pack_size, 385u);
  ASSERT_EQ(a.blobs.size(), 5u);
  Result<std::vector<BlobEntry>> trailer = DecodeTrailer(Golden("pack_trailer_tiny.bin"), 158);
  ASSERT_TRUE(trailer.ok());
  for (size_t i = 0; i < 5; ++i) {
    const BlobEntry& e = (*trailer)[i];
    ExpectEntry(a.blobs[i], e.type, e.id.bytes[0], e.offset, e.length, e.raw_length, e.compression);
  }
  const IndexedPack& b = (*packs)[1];
  EXPECT_EQ(b.pack_id, FixedId(0xc0));
  EXPECT_EQ(b.pack_size, 115u);  // the smallest pack that holds a blob: one empty blob
  ASSERT_EQ(b.blobs.size(), 1u);
  ExpectEntry(b.blobs[0], BlobType::kData, 0xe0, 8, 28, 0, Compression::kNone);
  EXPECT_EQ(EncodeIndexFile(*packs), golden);
}

// Nodes of the smallest encoding, 15 bytes each: again exactly at the decoder's bound (a bound
// of 16 bytes per node rejected this tree).
TEST(FormatGolden, MinimalTreePlaintext) {
  Bytes golden = Golden("tree_minimal.bin");
  EXPECT_EQ(ToHex(golden),
            "0103"
            "016101000000000000000000000000"    // "a": file, all zero, no content
            "0162017f7f7f00007f7e7f7f000100"    // "b": mode 0177, uid/gid 127, mtime -64, ...
            "016c03000000000000000000000000");  // "l": symlink, empty target
  Result<Tree> tree = DecodeTree(golden);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  ASSERT_EQ(tree->nodes.size(), 3u);
  const std::vector<Node>& n = tree->nodes;
  EXPECT_EQ(n[0].name, "a");
  EXPECT_EQ(n[0].type, NodeType::kFile);
  EXPECT_EQ(n[0].mode, 0u);
  EXPECT_TRUE(n[0].content.empty());
  EXPECT_EQ(n[1].name, "b");
  EXPECT_EQ(n[1].type, NodeType::kFile);
  EXPECT_EQ(n[1].mode, 0177u);
  EXPECT_EQ(n[1].uid, 127u);
  EXPECT_EQ(n[1].gid, 127u);
  EXPECT_EQ(n[1].mtime_ns, -64);
  EXPECT_EQ(n[1].ctime_ns, 63);
  EXPECT_EQ(n[1].inode, 127u);
  EXPECT_EQ(n[1].device, 127u);
  EXPECT_EQ(n[1].size, 0u);
  EXPECT_EQ(n[1].flags, kNodeChangedDuringRead);
  EXPECT_EQ(n[2].name, "l");
  EXPECT_EQ(n[2].type, NodeType::kSymlink);
  EXPECT_EQ(n[2].link_target, "");
  EXPECT_EQ(EncodeTree(*tree), golden);
  Bytes more = golden;
  more[1] = 4;
  EXPECT_FALSE(DecodeTree(more).ok());
}

// Both envelopes hold snapshot.bin sealed as a snapshot object: domain 'S' (docs/FORMAT.md 4.3).
TEST(FormatGolden, Envelopes) {
  const Bytes plain = Golden("snapshot.bin");
  Bytes unenc = Golden("envelope_unencrypted.bin");
  ASSERT_EQ(unenc.size(), 12 + plain.size() + 16);
  EXPECT_TRUE(std::all_of(unenc.begin(), unenc.begin() + 12, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::equal(plain.begin(), plain.end(), unenc.begin() + 12));
  Bytes tagged{'S'};
  tagged.insert(tagged.end(), plain.begin(), plain.end());
  Id digest = Sha256(tagged);  // SHA-256(domain byte || plaintext)
  EXPECT_TRUE(std::equal(digest.bytes.begin(), digest.bytes.begin() + 16, unenc.end() - 16));
  Result<Bytes> opened = Sealer(FixedKey(0x40), false).Open(unenc, SealDomain::kSnapshot);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();  // the key plays no part
  EXPECT_EQ(*opened, plain);
  EXPECT_TRUE(DecodeSnapshot(*opened).ok());
  Bytes resealed;
  Sealer(FixedKey(0x00), false).Seal(plain, SealDomain::kSnapshot, &resealed);
  EXPECT_EQ(resealed, unenc);
  EXPECT_EQ(OpenOnlyAs(false, FixedKey(0x00), unenc, 'S'), plain);

  Bytes enc = Golden("envelope_aes256gcm.bin");
  ASSERT_EQ(enc.size(), 12 + plain.size() + 16);
  opened = Sealer(FixedKey(0x00), true).Open(enc, SealDomain::kSnapshot);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
  // AES-256-GCM with the one domain byte as associated data, by hand.
  EXPECT_EQ(OpenOnlyAs(true, FixedKey(0x00), enc, 'S'), plain);
  EXPECT_FALSE(Sealer(FixedKey(0x01), true).Open(enc, SealDomain::kSnapshot).ok());
  EXPECT_FALSE(Sealer(FixedKey(0x00), false).Open(enc, SealDomain::kSnapshot).ok());
  EXPECT_FALSE(Sealer(FixedKey(0x00), true).Open(unenc, SealDomain::kSnapshot).ok());
}

// The domain is authenticated: the same envelopes do not open as anything but a snapshot.
TEST(FormatGolden, EnvelopesDoNotOpenUnderAnotherDomain) {
  const Bytes unenc = Golden("envelope_unencrypted.bin");
  const Bytes enc = Golden("envelope_aes256gcm.bin");
  for (SealDomain d : {SealDomain::kKeyFile, SealDomain::kDataBlob, SealDomain::kTreeBlob,
                       SealDomain::kPackTrailer, SealDomain::kIndexFile, SealDomain::kNone}) {
    SCOPED_TRACE(static_cast<int>(d));
    Result<Bytes> u = Sealer(FixedKey(0x00), false).Open(unenc, d);
    EXPECT_EQ(u.status().code(), Code::kCorruption);
    Result<Bytes> e = Sealer(FixedKey(0x00), true).Open(enc, d);
    EXPECT_EQ(e.status().code(), Code::kCorruption);
  }
}

TEST(FormatGolden, UnencryptedPack) {
  Bytes pack = Golden("pack_unencrypted.bin");
  ASSERT_GT(pack.size(), 28u);
  EXPECT_EQ(AsString(ByteView(pack).first(8)), std::string_view("CAIRNPK\x01", 8));
  EXPECT_EQ(AsString(ByteView(pack).last(8)), std::string_view("CAIRNPK\x01", 8));
  Sealer sealer(FixedKey(0x00), false);
  IdHasher hasher(FixedKey(0x20));
  Result<std::vector<BlobEntry>> entries =
      ReadPackTrailer(pack.size(), sealer, [&](uint64_t off, uint64_t len) -> Result<Bytes> {
        return Bytes(pack.begin() + off, pack.begin() + off + len);
      });
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);

  Result<Tree> golden_tree = DecodeTree(Golden("tree.bin"));
  ASSERT_TRUE(golden_tree.ok());
  Tree small;
  small.nodes.push_back(golden_tree->nodes[1]);
  const std::vector<std::pair<BlobType, Bytes>> want = {
      {BlobType::kData, Lines(200, "golden pack")},
      {BlobType::kData, PseudoRandom(3000, 7)},
      {BlobType::kTree, EncodeTree(small)}};
  const Compression want_comp[] = {Compression::kZstd, Compression::kNone, Compression::kZstd};

  PackBuilder rebuilt;
  uint64_t offset = 8;
  for (size_t i = 0; i < want.size(); ++i) {
    const BlobEntry& e = (*entries)[i];
    EXPECT_EQ(e.type, want[i].first);
    EXPECT_EQ(e.id, HmacSha256(FixedKey(0x20), want[i].second));
    EXPECT_EQ(e.offset, offset);  // blobs follow each other from the magic on
    EXPECT_EQ(e.raw_length, want[i].second.size());
    EXPECT_EQ(e.compression, want_comp[i]);
    ByteView envelope = ByteView(pack).subspan(e.offset, e.length);
    Result<Bytes> plain = OpenBlob(e, envelope, sealer, hasher);
    ASSERT_TRUE(plain.ok()) << plain.status().ToString();
    EXPECT_EQ(*plain, want[i].second);
    // Re-add the stored envelope (zstd output may differ between zstd versions;
    // the pack layout around it may not).
    SealedBlob b{e.type, e.id, e.raw_length, e.compression,
                 Bytes(envelope.begin(), envelope.end())};
    rebuilt.Add(b);
    // By hand: a data blob is sealed under domain 'D', a tree blob under 'T'.
    EXPECT_TRUE(OpenOnlyAs(false, FixedKey(0x00), envelope,
                           e.type == BlobType::kTree ? golden::kDomainTreeBlob
                                                     : golden::kDomainDataBlob)
                    .has_value());
    offset += e.length;
  }
  EXPECT_EQ(rebuilt.Finish(sealer), pack);
  // The trailer envelope, between the last blob and the footer, is sealed under 'P'.
  const uint64_t trailer_len = GetU32LE(pack.data() + pack.size() - 12);
  EXPECT_EQ(offset + trailer_len + 12, pack.size());
  std::optional<Bytes> trailer = OpenOnlyAs(
      false, FixedKey(0x00), ByteView(pack).subspan(offset, trailer_len), golden::kDomainPackTrailer);
  ASSERT_TRUE(trailer.has_value());
  Result<std::vector<BlobEntry>> decoded = DecodeTrailer(*trailer, offset);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), 3u);
}

}  // namespace
}  // namespace cairn
