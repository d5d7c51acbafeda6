#include "common/bytes.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cairn {
namespace {

const std::vector<uint64_t> kVarintEdges = {0,
                                            1,
                                            127,
                                            128,
                                            255,
                                            16383,
                                            16384,
                                            (uint64_t{1} << 32) - 1,
                                            uint64_t{1} << 32,
                                            (uint64_t{1} << 63) - 1,
                                            uint64_t{1} << 63,
                                            std::numeric_limits<uint64_t>::max()};

const std::vector<int64_t> kSignedEdges = {0,
                                           1,
                                           -1,
                                           63,
                                           -64,
                                           64,
                                           -65,
                                           std::numeric_limits<int32_t>::min(),
                                           std::numeric_limits<int64_t>::max(),
                                           std::numeric_limits<int64_t>::min()};

Id SampleId() {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(i * 7 + 1);
  return id;
}

// One of everything Encoder can write, decoded back in the same order.
Bytes EncodeAll() {
  Encoder e;
  e.U8(0);
  e.U8(0xff);
  e.U32(0);
  e.U32(0xdeadbeef);
  e.U64(0x0123456789abcdefULL);
  e.U64(std::numeric_limits<uint64_t>::max());
  for (uint64_t v : kVarintEdges) e.Varint(v);
  for (int64_t v : kSignedEdges) e.SignedVarint(v);
  e.Str("");
  e.Str("hello, cairn");
  e.Raw(AsBytes("raw"));
  e.PutId(SampleId());
  return e.Take();
}

Status DecodeAll(ByteView b) {
  Decoder d(b);
  auto expect = [](bool ok, const char* what) {
    return ok ? Status::OK() : Status::InvalidArgument(std::string("mismatch: ") + what);
  };
  ASSIGN_OR_RETURN(uint8_t u8a, d.U8());
  ASSIGN_OR_RETURN(uint8_t u8b, d.U8());
  RETURN_IF_ERROR(expect(u8a == 0 && u8b == 0xff, "u8"));
  ASSIGN_OR_RETURN(uint32_t u32a, d.U32());
  ASSIGN_OR_RETURN(uint32_t u32b, d.U32());
  RETURN_IF_ERROR(expect(u32a == 0 && u32b == 0xdeadbeef, "u32"));
  ASSIGN_OR_RETURN(uint64_t u64a, d.U64());
  ASSIGN_OR_RETURN(uint64_t u64b, d.U64());
  RETURN_IF_ERROR(
      expect(u64a == 0x0123456789abcdefULL && u64b == std::numeric_limits<uint64_t>::max(), "u64"));
  for (uint64_t v : kVarintEdges) {
    ASSIGN_OR_RETURN(uint64_t got, d.Varint());
    RETURN_IF_ERROR(expect(got == v, "varint"));
  }
  for (int64_t v : kSignedEdges) {
    ASSIGN_OR_RETURN(int64_t got, d.SignedVarint());
    RETURN_IF_ERROR(expect(got == v, "signed varint"));
  }
  ASSIGN_OR_RETURN(std::string s1, d.Str(100));
  ASSIGN_OR_RETURN(std::string s2, d.Str(100));
  RETURN_IF_ERROR(expect(s1.empty() && s2 == "hello, cairn", "str"));
  ASSIGN_OR_RETURN(ByteView raw, d.Raw(3));
  RETURN_IF_ERROR(expect(AsString(raw) == "raw", "raw"));
  ASSIGN_OR_RETURN(Id id, d.GetId());
  RETURN_IF_ERROR(expect(id == SampleId(), "id"));
  return expect(d.done() && d.remaining() == 0, "done");
}

TEST(BytesCodec, RoundTripEveryType) {
  Bytes b = EncodeAll();
  Status st = DecodeAll(b);
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(BytesCodec, LittleEndianLayout) {
  Encoder e;
  e.U32(0x04030201);
  e.U64(0x0807060504030201ULL);
  EXPECT_EQ(ToHex(e.buffer()), "010203040102030405060708");
  uint8_t p[4];
  PutU32LE(p, 0xa1b2c3d4);
  EXPECT_EQ(GetU32LE(p), 0xa1b2c3d4u);
  EXPECT_EQ(p[0], 0xd4);
}

TEST(BytesCodec, VarintEncodingSizes) {
  auto size_of = [](uint64_t v) {
    Encoder e;
    e.Varint(v);
    return e.buffer().size();
  };
  EXPECT_EQ(size_of(0), 1u);
  EXPECT_EQ(size_of(127), 1u);
  EXPECT_EQ(size_of(128), 2u);
  EXPECT_EQ(size_of(uint64_t{1} << 63), 10u);
  EXPECT_EQ(size_of(std::numeric_limits<uint64_t>::max()), 10u);
  Encoder e;
  e.SignedVarint(-1);  // zig-zag: -1 -> 1
  EXPECT_EQ(ToHex(e.buffer()), "01");
}

TEST(DecoderTest, EveryTruncationIsCorruption) {
  Bytes b = EncodeAll();
  for (size_t len = 0; len < b.size(); ++len) {
    Status st = DecodeAll(ByteView(b).first(len));
    ASSERT_FALSE(st.ok()) << "prefix " << len;
    EXPECT_EQ(st.code(), Code::kCorruption) << "prefix " << len << ": " << st.ToString();
  }
}

TEST(DecoderTest, ShortReadsOnEmptyInput) {
  Decoder d({});
  EXPECT_EQ(d.U8().status().code(), Code::kCorruption);
  EXPECT_EQ(d.U32().status().code(), Code::kCorruption);
  EXPECT_EQ(d.U64().status().code(), Code::kCorruption);
  EXPECT_EQ(d.Varint().status().code(), Code::kCorruption);
  EXPECT_EQ(d.SignedVarint().status().code(), Code::kCorruption);
  EXPECT_EQ(d.Raw(1).status().code(), Code::kCorruption);
  EXPECT_EQ(d.Str(10).status().code(), Code::kCorruption);
  EXPECT_EQ(d.GetId().status().code(), Code::kCorruption);
  EXPECT_TRUE(d.Raw(0).ok());
  EXPECT_TRUE(d.done());
}

TEST(DecoderTest, OverlongVarintRejected) {
  // Eleven continuation bytes: longer than any 64-bit varint.
  Bytes eleven(11, 0x80);
  eleven.push_back(0x00);
  EXPECT_EQ(Decoder(eleven).Varint().status().code(), Code::kCorruption);
  // Ten bytes whose last carries bits beyond 2^64.
  Bytes overflow(9, 0xff);
  overflow.push_back(0x02);
  EXPECT_EQ(Decoder(overflow).Varint().status().code(), Code::kCorruption);
  // Ten bytes with the last continuing.
  Bytes continuing(9, 0xff);
  continuing.push_back(0x81);
  continuing.push_back(0x00);
  EXPECT_EQ(Decoder(continuing).Varint().status().code(), Code::kCorruption);
  // The maximum value itself is fine.
  Bytes max(9, 0xff);
  max.push_back(0x01);
  auto v = Decoder(max).Varint();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::numeric_limits<uint64_t>::max());
}

TEST(DecoderTest, StrMaxLenEnforced) {
  Encoder e;
  e.Str("abcdef");
  Bytes b = e.Take();
  EXPECT_EQ(Decoder(b).Str(5).status().code(), Code::kCorruption);
  auto ok = Decoder(b).Str(6);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "abcdef");
  // A huge declared length fails on the limit, before any allocation.
  Encoder huge;
  huge.Varint(std::numeric_limits<uint64_t>::max());
  Bytes h = huge.Take();
  EXPECT_EQ(Decoder(h).Str(1 << 20).status().code(), Code::kCorruption);
  EXPECT_EQ(Decoder(h).Str(std::numeric_limits<size_t>::max()).status().code(), Code::kCorruption);
}

TEST(BytesHex, RoundTrip) {
  Bytes all(256);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i);
  std::string hex = ToHex(all);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  auto back = FromHex(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  auto upper = FromHex("DEADbeef");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(ToHex(*upper), "deadbeef");
  EXPECT_TRUE(FromHex("").ok());
}

TEST(BytesHex, BadHexRejected) {
  for (std::string_view bad : {"a", "abc", "0g", "g0", "zz", "0x12", " 12", "12 "}) {
    EXPECT_FALSE(FromHex(bad).ok()) << bad;
  }
}

TEST(BytesId, FromHex) {
  Id id = SampleId();
  auto back = Id::FromHex(id.Hex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, id);
  EXPECT_EQ(id.ShortHex(), id.Hex().substr(0, 8));
  EXPECT_FALSE(id.IsZero());
  EXPECT_TRUE(Id().IsZero());
  EXPECT_FALSE(Id::FromHex(id.Hex().substr(2)).ok());  // too short
  EXPECT_FALSE(Id::FromHex(id.Hex() + "00").ok());     // too long
  std::string bad = id.Hex();
  bad[10] = 'x';
  EXPECT_FALSE(Id::FromHex(bad).ok());
  EXPECT_EQ(std::hash<Id>()(id), IdHash()(id));
}

TEST(Scratch, GrowKeepsSizeAtLeastAndNeverShrinks) {
  Bytes b;
  GrowScratch(&b, 10);
  EXPECT_EQ(b.size(), 10u);
  GrowScratch(&b, 4 << 20);  // big enough to be populated in one call
  EXPECT_EQ(b.size(), size_t{4} << 20);
  GrowScratch(&b, 5);
  EXPECT_EQ(b.size(), size_t{4} << 20);
}

TEST(Scratch, ReserveKeepsTheContents) {
  Bytes b = {1, 2, 3};
  ReserveScratch(&b, 1 << 20);
  EXPECT_GE(b.capacity(), size_t{1} << 20);
  EXPECT_EQ(b, (Bytes{1, 2, 3}));
  const uint8_t* at = b.data();
  ReserveScratch(&b, 100);  // room already: nothing moves
  EXPECT_EQ(b.data(), at);
}

}  // namespace
}  // namespace cairn
