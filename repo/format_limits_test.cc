// The format v1 hardening, as unit tests (docs/FORMAT.md sections 4.3, 5, 8-12):
// seal domains, the config id rule, the smallest encodings a decoder must accept, and the
// writer's refusal of blobs readers would reject. The golden files pin the same rules on
// fixed bytes (repo/format_golden_test.cc).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "repo/config.h"
#include "repo/format.h"
#include "repo/index_file.h"
#include "repo/keys.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "repo/test_util.h"
#include "repo/tree.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::TestInitOptions;

constexpr SealDomain kDomains[] = {SealDomain::kNone,        SealDomain::kKeyFile,
                                   SealDomain::kDataBlob,    SealDomain::kTreeBlob,
                                   SealDomain::kPackTrailer, SealDomain::kIndexFile,
                                   SealDomain::kSnapshot};

Key32 TestKey(uint8_t start) {
  Key32 k;
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(start + i);
  return k;
}

Id TestId(uint8_t first) {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(first + i);
  return id;
}

// ---------------------------------------------------------------- seal domains

TEST(FormatLimits, DomainBytesAreTheDocumentedOnes) {
  EXPECT_EQ(static_cast<uint8_t>(SealDomain::kKeyFile), 'K');
  EXPECT_EQ(static_cast<uint8_t>(SealDomain::kDataBlob), 'D');
  EXPECT_EQ(static_cast<uint8_t>(SealDomain::kTreeBlob), 'T');
  EXPECT_EQ(static_cast<uint8_t>(SealDomain::kPackTrailer), 'P');
  EXPECT_EQ(static_cast<uint8_t>(SealDomain::kIndexFile), 'I');
  EXPECT_EQ(static_cast<uint8_t>(SealDomain::kSnapshot), 'S');
  EXPECT_EQ(BlobDomain(BlobType::kData), SealDomain::kDataBlob);
  EXPECT_EQ(BlobDomain(BlobType::kTree), SealDomain::kTreeBlob);
}

TEST(FormatLimits, EnvelopeOpensOnlyUnderTheDomainItWasSealedWith) {
  for (bool encrypt : {true, false}) {
    Sealer sealer(TestKey(0x11), encrypt);
    for (const Bytes& plain : {Bytes{}, Bytes{1}, testing::RandomData(1000, 3)}) {
      for (SealDomain sealed_as : kDomains) {
        Bytes env;
        sealer.Seal(plain, sealed_as, &env);
        for (SealDomain opened_as : kDomains) {
          SCOPED_TRACE(std::string(encrypt ? "encrypted" : "unencrypted") + ", " +
                       std::to_string(plain.size()) + " bytes, sealed as " +
                       std::to_string(static_cast<int>(sealed_as)) + ", opened as " +
                       std::to_string(static_cast<int>(opened_as)));
          Result<Bytes> opened = sealer.Open(env, opened_as);
          if (sealed_as == opened_as) {
            ASSERT_TRUE(opened.ok()) << opened.status().ToString();
            EXPECT_EQ(*opened, plain);
          } else {
            EXPECT_EQ(opened.status().code(), Code::kCorruption);
          }
        }
      }
    }
  }
}

TEST(FormatLimits, UnencryptedTagCoversTheDomainByte) {
  const Bytes plain = {'h', 'e', 'l', 'l', 'o'};
  Bytes env;
  Sealer(TestKey(0), false).Seal(plain, SealDomain::kIndexFile, &env);
  ASSERT_EQ(env.size(), 12 + plain.size() + 16);
  Bytes tagged = {'I', 'h', 'e', 'l', 'l', 'o'};
  Id digest = Sha256(tagged);
  EXPECT_TRUE(std::equal(env.end() - 16, env.end(), digest.bytes.begin()));
}

// A pack whose blobs and trailer are moved around keeps working only where each envelope is
// expected: a data blob relabelled as a tree blob (or the reverse) fails to open.
TEST(FormatLimits, BlobOpensOnlyAsItsOwnType) {
  for (bool encrypt : {true, false}) {
    Sealer sealer(TestKey(0x22), encrypt);
    IdHasher hasher(TestKey(0x33));
    Bytes plain = EncodeTree(Tree{});
    SealedBlob b = SealBlob(BlobType::kTree, hasher.Hash(plain), plain, 3, sealer);
    BlobEntry e{BlobType::kTree, b.id, 8, b.envelope.size(), plain.size(), b.compression};
    EXPECT_TRUE(OpenBlob(e, b.envelope, sealer, hasher).ok());
    e.type = BlobType::kData;
    EXPECT_EQ(OpenBlob(e, b.envelope, sealer, hasher).status().code(), Code::kCorruption);
  }
}

// ---------------------------------------------------------------- config id

std::string ValidId() { return std::string(64, 'a').replace(10, 6, "0123ff"); }

Bytes ConfigWithId(const std::string& id) {
  RepoConfig c;
  c.version = kFormatVersion;
  c.id = id;
  c.encrypted = true;
  c.chunker = ChunkerParams{2048, 8192, 32768};
  c.pack_size = 1 << 20;
  c.compression_level = 3;
  return c.Encode(RepoConfig::MacKey(TestKey(0x44)));
}

TEST(FormatLimits, ConfigIdMustBe64LowerCaseHexDigits) {
  Result<RepoConfig> ok = RepoConfig::Decode(ConfigWithId(ValidId()));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->id, ValidId());
  EXPECT_TRUE(RepoConfig::Verify(ConfigWithId(ValidId()), RepoConfig::MacKey(TestKey(0x44))).ok());

  std::string upper = ValidId();
  upper[0] = 'A';
  std::string non_hex = ValidId();
  non_hex[63] = 'g';
  for (const std::string& bad :
       {std::string(), std::string(63, 'a'), std::string(65, 'a'), upper, non_hex,
        std::string("../../../../tmp/elsewhere"), std::string(62, 'a') + "/.",
        std::string(63, 'a') + std::string(1, '\0')}) {
    SCOPED_TRACE("id '" + bad + "'");
    Result<RepoConfig> c = RepoConfig::Decode(ConfigWithId(bad));
    EXPECT_EQ(c.status().code(), Code::kCorruption);
  }
}

TEST(FormatLimits, ConfigMacKeyIsDerivedFromTheEncryptionKey) {
  const Key32 enc = TestKey(0x55);
  const Key32 mac = RepoConfig::MacKey(enc);
  EXPECT_EQ(mac, HmacSha256(enc, AsBytes("cairn config mac")).bytes);
  EXPECT_NE(mac, enc);
}

// A config whose MAC is valid (computed with the repository's own key) but whose id is a path
// is still refused: the id names a folder in the local cache.
TEST(FormatLimits, RepositoryWithBadConfigIdDoesNotOpen) {
  TempDir tmp;
  {
    auto backend = OpenLocalBackend(tmp / "repo", true);
    ASSERT_TRUE(backend.ok());
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", TestInitOptions()).ok());
  }
  auto backend = OpenLocalBackend(tmp / "repo", false);
  ASSERT_TRUE(backend.ok());
  Result<MasterKey> key = LoadMasterKey(backend->get(), "pw");
  ASSERT_TRUE(key.ok());
  Result<Bytes> bytes = (*backend)->Get({ObjectType::kConfig, ""});
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  Result<RepoConfig> config = RepoConfig::Decode(*bytes);
  ASSERT_TRUE(config.ok());
  config->id = "../escaped";
  testing::WriteFile(tmp / "repo/config", config->Encode(RepoConfig::MacKey(key->encryption_key)));

  Result<std::unique_ptr<Repository>> repo =
      Repository::Open(std::move(backend).value(), "pw", OpenOptions{tmp / "cache"});
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), Code::kCorruption);
  EXPECT_FALSE(fs::exists(tmp / "escaped"));
}

// ---------------------------------------------------------------- smallest encodings

BlobEntry TinyEntry(uint8_t id, uint64_t offset, uint64_t raw) {
  return BlobEntry{BlobType::kData, TestId(id), offset, raw + Sealer::kOverhead, raw,
                   Compression::kNone};
}

TEST(FormatLimits, MinimalBlobEntrySizeIs37Bytes) {
  EXPECT_EQ(kMinBlobEntryBytes, 37u);
  Encoder enc;
  EncodeBlobEntry(TinyEntry(1, 8, 0), &enc);
  EXPECT_EQ(enc.buffer().size(), kMinBlobEntryBytes);
}

// Trailers and index files made only of 37-byte entries, from one entry (a pack holding one
// tiny blob: the empty tree of an empty directory) up to five.
TEST(FormatLimits, TrailersAndIndexFilesOfMinimalEntriesDecode) {
  for (size_t n = 1; n <= 5; ++n) {
    SCOPED_TRACE(n);
    std::vector<BlobEntry> entries;
    uint64_t offset = kPackMagicSize;
    for (size_t i = 0; i < n; ++i) {
      entries.push_back(TinyEntry(static_cast<uint8_t>(0x10 * i), offset, i));
      offset += entries.back().length;
    }
    Encoder enc;
    enc.U8(kPackTrailerVersion);
    enc.Varint(n);
    for (const BlobEntry& e : entries) EncodeBlobEntry(e, &enc);
    ASSERT_EQ(enc.buffer().size(), 2 + n * kMinBlobEntryBytes);  // every varint one byte
    Result<std::vector<BlobEntry>> trailer = DecodeTrailer(enc.buffer(), offset);
    ASSERT_TRUE(trailer.ok()) << trailer.status().ToString();
    EXPECT_EQ(trailer->size(), n);

    const uint64_t pack_size = offset + Sealer::kOverhead + enc.buffer().size() + kPackFooterSize;
    Bytes index = EncodeIndexFile({IndexedPack{TestId(0xa0), pack_size, entries}});
    Result<std::vector<IndexedPack>> packs = DecodeIndexFile(index);
    ASSERT_TRUE(packs.ok()) << packs.status().ToString();
    ASSERT_EQ(packs->size(), 1u);
    EXPECT_EQ(packs->at(0).blobs.size(), n);
  }
}

// Whole packs of tiny blobs, as PackBuilder writes them, read back through their trailer.
TEST(FormatLimits, PacksOfTinyBlobsReadBack) {
  for (bool encrypt : {true, false}) {
    for (size_t n : {1, 2, 5, 200}) {
      SCOPED_TRACE(std::to_string(n) + (encrypt ? " encrypted" : " unencrypted"));
      Sealer sealer(TestKey(0x66), encrypt);
      IdHasher hasher(TestKey(0x77));
      PackBuilder builder;
      std::vector<Bytes> plains;
      for (size_t i = 0; i < n; ++i) {
        Bytes p(i % 4, static_cast<uint8_t>(i));
        p.push_back(static_cast<uint8_t>(i >> 8));
        p.push_back(static_cast<uint8_t>(i));
        plains.push_back(p);
        builder.Add(SealBlob(i == 0 ? BlobType::kTree : BlobType::kData, hasher.Hash(p), p, 3,
                             sealer));
      }
      Bytes pack = builder.Finish(sealer);
      Result<std::vector<BlobEntry>> entries =
          ReadPackTrailer(pack.size(), sealer, [&](uint64_t off, uint64_t len) -> Result<Bytes> {
            return Bytes(pack.begin() + off, pack.begin() + off + len);
          });
      ASSERT_TRUE(entries.ok()) << entries.status().ToString();
      ASSERT_EQ(entries->size(), n);
      for (size_t i = 0; i < n; ++i) {
        const BlobEntry& e = (*entries)[i];
        Result<Bytes> plain =
            OpenBlob(e, ByteView(pack).subspan(e.offset, e.length), sealer, hasher);
        ASSERT_TRUE(plain.ok()) << plain.status().ToString();
        EXPECT_EQ(*plain, plains[i]);
      }
      Result<std::vector<IndexedPack>> index =
          DecodeIndexFile(EncodeIndexFile({IndexedPack{Sha256(pack), pack.size(), *entries}}));
      ASSERT_TRUE(index.ok()) << index.status().ToString();
    }
  }
}

Node MinimalNode(std::string name, NodeType type) {
  Node n;
  n.name = std::move(name);
  n.type = type;
  return n;
}

TEST(FormatLimits, TreesOfMinimalNodesDecode) {
  EXPECT_EQ(kMinNodeBytes, 15u);
  for (NodeType type : {NodeType::kFile, NodeType::kSymlink}) {
    Tree one;
    one.nodes.push_back(MinimalNode("x", type));
    Bytes b = EncodeTree(one);
    EXPECT_EQ(b.size(), 2 + kMinNodeBytes);
    Result<Tree> t = DecodeTree(b);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->nodes.size(), 1u);
  }
  // Every one-byte name there is: 253 nodes of 15 bytes, exactly the decoder's bound.
  Tree all;
  for (int c = 1; c < 256; ++c) {
    if (c == '/' || c == '.') continue;
    all.nodes.push_back(MinimalNode(std::string(1, static_cast<char>(c)),
                                    c % 2 ? NodeType::kFile : NodeType::kSymlink));
  }
  SortTree(&all);
  Bytes b = EncodeTree(all);
  ASSERT_EQ(all.nodes.size(), 253u);
  EXPECT_EQ(b.size(), 1 + 2 + 253 * kMinNodeBytes);
  Result<Tree> t = DecodeTree(b);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->nodes.size(), 253u);
}

// ---------------------------------------------------------------- writer limits

class WriterLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = OpenLocalBackend(tmp_ / "repo", true);
    ASSERT_TRUE(backend.ok());
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", TestInitOptions()).ok());
    auto opened = OpenLocalBackend(tmp_ / "repo", false);
    ASSERT_TRUE(opened.ok());
    auto repo = Repository::Open(std::move(opened).value(), "pw", OpenOptions{tmp_ / "cache"});
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
  }
  size_t Packs() {
    size_t n = 0;
    EXPECT_TRUE(repo_->backend()
                    ->List(ObjectType::kData,
                           [&](const std::string&, uint64_t) {
                             ++n;
                             return Status::OK();
                           })
                    .ok());
    return n;
  }
  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(WriterLimits, SaveBlobRefusesMoreThan64MiB) {
  ASSERT_EQ(kMaxBlobRawSize, 64ull << 20);
  const Bytes too_big(kMaxBlobRawSize + 1, 0);
  for (BlobType type : {BlobType::kData, BlobType::kTree}) {
    Result<SaveResult> r = repo_->SaveBlob(type, too_big);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(std::to_string(kMaxBlobRawSize)), std::string::npos)
        << r.status().ToString();
  }
  ASSERT_TRUE(repo_->Flush().ok());
  EXPECT_EQ(Packs(), 0u);  // nothing was written

  // Exactly the limit is allowed, and reads back.
  const Bytes at_limit(kMaxBlobRawSize, 7);
  Result<SaveResult> r = repo_->SaveBlob(BlobType::kData, at_limit);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->added);
  ASSERT_TRUE(repo_->Flush().ok());
  EXPECT_EQ(Packs(), 1u);
  Result<Bytes> back = repo_->LoadBlob(BlobType::kData, r->id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == at_limit);
}

}  // namespace
}  // namespace cairn
