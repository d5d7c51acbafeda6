#include "store/compress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "store/crypto.h"

namespace cairn {
namespace {

Bytes SqlText(size_t approx_bytes) {
  std::string s;
  for (int i = 0; s.size() < approx_bytes; ++i) {
    s += "INSERT INTO t VALUES (" + std::to_string(i * 7919 % 100000) + ", 'name-" +
         std::to_string(i) + "', 3.14);\n";
  }
  return Bytes(s.begin(), s.end());
}

TEST(CompressBlob, CompressibleTextRoundTrips) {
  Bytes raw = SqlText(300'000);
  for (int level : {1, 3, 19}) {
    Bytes out = {0x01, 0x02};  // CompressBlob appends
    ASSERT_EQ(CompressBlob(raw, level, &out), Compression::kZstd);
    EXPECT_LT(out.size() - 2, raw.size() / 4);
    auto back = DecompressBlob(Compression::kZstd, ByteView(out).subspan(2), raw.size());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, raw);
  }
}

TEST(CompressBlob, RandomBytesStoredRaw) {
  for (size_t n : {size_t{1}, size_t{31}, size_t{4096}, size_t{300'000}}) {
    Bytes raw = RandomBytes(n);
    Bytes out = {0x09};
    ASSERT_EQ(CompressBlob(raw, 3, &out), Compression::kNone) << "size " << n;
    ASSERT_EQ(out.size(), n + 1);
    EXPECT_TRUE(std::equal(raw.begin(), raw.end(), out.begin() + 1));
    auto back = DecompressBlob(Compression::kNone, ByteView(out).subspan(1), n);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, raw);
  }
}

TEST(CompressBlob, EmptyInput) {
  Bytes out;
  EXPECT_EQ(CompressBlob({}, 3, &out), Compression::kNone);
  EXPECT_TRUE(out.empty());
  auto back = DecompressBlob(Compression::kNone, {}, 0);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST(CompressBlob, DecompressIntoReusesOneScratch) {
  Bytes scratch;
  Bytes big = SqlText(300'000), small = SqlText(1'000);
  for (const Bytes* raw : {&big, &small, &big}) {
    Bytes out;
    ASSERT_EQ(CompressBlob(*raw, 3, &out), Compression::kZstd);
    auto back = DecompressBlobInto(Compression::kZstd, out, raw->size(), &scratch);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->data(), scratch.data());
    EXPECT_TRUE(std::equal(back->begin(), back->end(), raw->begin(), raw->end()));
    EXPECT_GE(scratch.size(), big.size());  // grown once, never shrunk
  }
  // Stored raw: the result is the input itself, no copy.
  Bytes raw = RandomBytes(1000);
  auto same = DecompressBlobInto(Compression::kNone, raw, raw.size(), &scratch);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->data(), raw.data());
  EXPECT_EQ(DecompressBlobInto(Compression::kNone, raw, 999, &scratch).status().code(), Code::kCorruption);
}

TEST(CompressBlob, SavingsThreshold) {
  // Half random, half zeros: compresses to about half, well past 1/32.
  Bytes raw = RandomBytes(64 * 1024);
  raw.resize(128 * 1024, 0);
  Bytes out;
  ASSERT_EQ(CompressBlob(raw, 1, &out), Compression::kZstd);
  EXPECT_LE(out.size(), raw.size() - raw.size() / 32);
  // 1/64 zeros saves less than 1/32: must be stored raw.
  Bytes mostly_random = RandomBytes(63 * 1024);
  mostly_random.resize(64 * 1024, 0);
  out.clear();
  EXPECT_EQ(CompressBlob(mostly_random, 19, &out), Compression::kNone);
}

class CompressDecompressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raw_ = SqlText(50'000);
    ASSERT_EQ(CompressBlob(raw_, 3, &frame_), Compression::kZstd);
  }
  Bytes raw_;
  Bytes frame_;
};

TEST_F(CompressDecompressTest, CorruptFrameFails) {
  // Flip each byte of the header region and a sample of the rest. zstd has
  // no checksum here (the Sealer authenticates), so a flip deep in a literal
  // section could decode to wrong bytes of the right length; header and
  // sequence damage must never crash and must fail or change the size.
  for (size_t i = 0; i < frame_.size(); i += (i < 32 ? 1 : 97)) {
    Bytes bad = frame_;
    bad[i] ^= 0xff;
    auto back = DecompressBlob(Compression::kZstd, bad, raw_.size());
    if (!back.ok()) {
      EXPECT_EQ(back.status().code(), Code::kCorruption) << "byte " << i;
    } else {
      EXPECT_EQ(back->size(), raw_.size());
    }
  }
  // Bad magic definitely fails.
  Bytes bad = frame_;
  bad[0] ^= 0xff;
  EXPECT_EQ(DecompressBlob(Compression::kZstd, bad, raw_.size()).status().code(),
            Code::kCorruption);
  // Garbage and empty input.
  EXPECT_EQ(DecompressBlob(Compression::kZstd, AsBytes("not a zstd frame"), 16).status().code(),
            Code::kCorruption);
  EXPECT_EQ(DecompressBlob(Compression::kZstd, {}, 0).status().code(), Code::kCorruption);
}

TEST_F(CompressDecompressTest, TruncatedOrExtendedFrameFails) {
  for (size_t len : {size_t{0}, size_t{4}, size_t{10}, frame_.size() / 2, frame_.size() - 1}) {
    auto back = DecompressBlob(Compression::kZstd, ByteView(frame_).first(len), raw_.size());
    EXPECT_EQ(back.status().code(), Code::kCorruption) << "length " << len;
  }
  Bytes extended = frame_;
  extended.push_back(0);
  EXPECT_EQ(DecompressBlob(Compression::kZstd, extended, raw_.size()).status().code(),
            Code::kCorruption);
  // Two concatenated frames are not one blob.
  Bytes twice = frame_;
  twice.insert(twice.end(), frame_.begin(), frame_.end());
  EXPECT_EQ(DecompressBlob(Compression::kZstd, twice, raw_.size()).status().code(),
            Code::kCorruption);
  EXPECT_EQ(DecompressBlob(Compression::kZstd, twice, 2 * raw_.size()).status().code(),
            Code::kCorruption);
}

TEST_F(CompressDecompressTest, WrongRawSizeFails) {
  for (uint64_t size :
       {uint64_t{0}, uint64_t{raw_.size() - 1}, uint64_t{raw_.size() + 1}, uint64_t{1} << 62}) {
    auto back = DecompressBlob(Compression::kZstd, frame_, size);
    EXPECT_EQ(back.status().code(), Code::kCorruption) << "size " << size;
  }
  EXPECT_EQ(DecompressBlob(Compression::kNone, raw_, raw_.size() + 1).status().code(),
            Code::kCorruption);
  EXPECT_EQ(DecompressBlob(Compression::kNone, raw_, raw_.size() - 1).status().code(),
            Code::kCorruption);
}

TEST_F(CompressDecompressTest, UnknownMethodFails) {
  for (uint8_t m : {2, 7, 255}) {
    auto back = DecompressBlob(static_cast<Compression>(m), frame_, raw_.size());
    EXPECT_EQ(back.status().code(), Code::kCorruption) << int(m);
  }
}

}  // namespace
}  // namespace cairn
