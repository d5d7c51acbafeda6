#include "chunker/fastcdc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace cairn {
namespace {

// Deterministic test data: xorshift64, eight little-endian bytes per step.
// Written out here (not std::mt19937 distributions) so the golden boundaries
// below depend on nothing outside this file.
Bytes RandomData(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    for (size_t j = 0; j < 8 && i + j < n; ++j) b[i + j] = static_cast<uint8_t>(x >> (8 * j));
  }
  return b;
}

constexpr uint64_t kSeed = 0x0123456789abcdefULL;

GearTable TestGear() {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);  // 0x00..0x1f
  return GearTable::FromKey(ByteView(key, sizeof(key)));
}

ChunkerParams SmallParams() {
  ChunkerParams p;
  p.min_size = 2u << 10;
  p.avg_size = 8u << 10;
  p.max_size = 32u << 10;
  return p;
}

std::vector<size_t> ChunkLengths(const GearTable& gear, const ChunkerParams& p, ByteView data) {
  std::vector<size_t> lens;
  while (!data.empty()) {
    size_t len = FindBoundary(gear, p, data);
    lens.push_back(len);
    data = data.subspan(len);
  }
  return lens;
}

// FNV-1a over the lengths as 64-bit values: pins a long list in one number.
uint64_t Checksum(const std::vector<size_t>& lens) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t len : lens) {
    for (int i = 0; i < 8; ++i) {
      h ^= (static_cast<uint64_t>(len) >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
  return h;
}

// The cut rule restated from the format description, one byte at a time and
// without any of the speed tricks, to check the fast path against.
size_t ReferenceBoundary(const GearTable& gear, const ChunkerParams& p, ByteView data) {
  size_t n = std::min<size_t>(data.size(), p.max_size);
  if (n <= p.min_size) return n;
  int bits = std::countr_zero(p.avg_size);
  uint64_t mask_s = ~uint64_t{0} << (64 - (bits + 2));
  uint64_t mask_l = ~uint64_t{0} << (64 - (bits - 2));
  uint64_t h = 0;
  for (size_t i = p.min_size; i < n; ++i) {
    h = (h << 1) + gear[data[i]];
    uint64_t mask = i < p.avg_size ? mask_s : mask_l;
    if ((h & mask) == 0) return i + 1;
  }
  return n;
}

// ---- Gear table ----

TEST(GearTable, PinnedValuesForFixedKey) {
  // Cross-checked against an independent HMAC-SHA-256 (Python hmac module).
  GearTable g = TestGear();
  EXPECT_EQ(g[0], 0x90bc4c88f91c8a47ULL);
  EXPECT_EQ(g[1], 0x070120479a14b557ULL);
  EXPECT_EQ(g[2], 0x1be00a79374b9ccdULL);
  EXPECT_EQ(g[3], 0x9502df722ac2057dULL);
  EXPECT_EQ(g[255], 0x1bb4d02aa2d7dc01ULL);
}

TEST(GearTable, DependsOnKey) {
  uint8_t key[32] = {};
  GearTable a = GearTable::FromKey(ByteView(key, sizeof(key)));
  key[31] = 1;
  GearTable b = GearTable::FromKey(ByteView(key, sizeof(key)));
  int same = 0;
  for (int i = 0; i < 256; ++i) same += a[static_cast<uint8_t>(i)] == b[static_cast<uint8_t>(i)];
  EXPECT_EQ(same, 0);
}

// ---- Golden boundaries: part of the on-disk contract, must never change ----

// The expected values were produced by this implementation and agree with an
// independent Python rendering of the rule in fastcdc.cc (HMAC gear, top-bit
// masks, cut after byte i at length i + 1).
TEST(FindBoundary, GoldenSmallParams) {
  Bytes data = RandomData(8u << 20, kSeed);
  std::vector<size_t> lens = ChunkLengths(TestGear(), SmallParams(), data);
  std::vector<size_t> first10(lens.begin(), lens.begin() + std::min<size_t>(10, lens.size()));
  EXPECT_EQ(lens.size(), 908u);
  EXPECT_EQ(first10,
            (std::vector<size_t>{9499, 8995, 8346, 9586, 8216, 9237, 9505, 9606, 11137, 7540}));
  EXPECT_EQ(Checksum(lens), 0x2bd03404eda1d927ULL);
}

TEST(FindBoundary, GoldenDefaultParams) {
  Bytes data = RandomData(8u << 20, kSeed);
  std::vector<size_t> lens = ChunkLengths(TestGear(), ChunkerParams::Default(), data);
  EXPECT_EQ(lens, (std::vector<size_t>{262989, 421396, 352218, 400544, 308615, 347792, 211519,
                                       329513, 342933, 288670, 309613, 277976, 360568, 167438,
                                       304071, 259597, 294184, 264540, 289038, 370324, 290128,
                                       294545, 337856, 264364, 352596, 284156, 354186, 47239}));
}

// ---- FindBoundary properties ----

TEST(FindBoundary, MatchesReference) {
  GearTable gear = TestGear();
  std::vector<ChunkerParams> cases = {SmallParams(), ChunkerParams::Default()};
  cases.push_back({64, 256, 1024});      // smallest avg: MaskL has 6 bits
  cases.push_back({4096, 4096, 16384});  // min == avg: no MaskS region
  cases.push_back({1024, 8192, 8192});   // avg == max: no MaskL region
  cases.push_back({100, 1024, 3001});    // odd sizes exercise the unrolled loop's tail
  Bytes data = RandomData((4u << 20) + 3, kSeed + 1);
  for (const ChunkerParams& p : cases) {
    ASSERT_TRUE(p.Validate().ok()) << p.Validate().ToString();
    ByteView rest(data);
    size_t chunks = 0;
    while (!rest.empty()) {
      size_t want = ReferenceBoundary(gear, p, rest);
      ASSERT_EQ(FindBoundary(gear, p, rest), want)
          << "min=" << p.min_size << " avg=" << p.avg_size << " chunk " << chunks;
      rest = rest.subspan(want);
      ++chunks;
    }
  }
}

void CheckProperties(const ChunkerParams& p, size_t n, uint64_t seed) {
  Bytes data = RandomData(n, seed);
  std::vector<size_t> lens = ChunkLengths(TestGear(), p, data);
  ASSERT_FALSE(lens.empty());
  size_t sum = 0;
  for (size_t i = 0; i < lens.size(); ++i) {
    sum += lens[i];
    if (i + 1 < lens.size()) {
      EXPECT_GE(lens[i], p.min_size) << "chunk " << i;
    } else {
      EXPECT_GE(lens[i], 1u);
    }
    EXPECT_LE(lens[i], p.max_size) << "chunk " << i;
  }
  EXPECT_EQ(sum, n);
  double mean = static_cast<double>(n) / static_cast<double>(lens.size());
  EXPECT_GT(mean, 0.7 * p.avg_size);
  EXPECT_LT(mean, 1.3 * p.avg_size);
}

TEST(FindBoundary, PropertiesSmallParams) { CheckProperties(SmallParams(), 16u << 20, 7); }
TEST(FindBoundary, PropertiesDefaultParams) {
  CheckProperties(ChunkerParams::Default(), 64u << 20, 8);
}

TEST(FindBoundary, ShortInputs) {
  GearTable gear = TestGear();
  ChunkerParams p = SmallParams();
  Bytes data = RandomData(p.max_size * 2, 9);
  EXPECT_EQ(FindBoundary(gear, p, ByteView()), 0u);
  EXPECT_EQ(FindBoundary(gear, p, ByteView(data).first(1)), 1u);
  EXPECT_EQ(FindBoundary(gear, p, ByteView(data).first(p.min_size)), p.min_size);
  size_t len = FindBoundary(gear, p, ByteView(data).first(p.min_size + 1));
  EXPECT_GT(len, p.min_size);
  EXPECT_LE(len, p.min_size + 1);
}

TEST(FindBoundary, ConstantDataCutsIdentically) {
  // Zeros (sparse files, disk images) must still be cut within [min, max] and
  // into equal chunks, so they deduplicate.
  GearTable gear = TestGear();
  for (const ChunkerParams& p : {SmallParams(), ChunkerParams::Default()}) {
    Bytes zeros(8 * size_t{p.max_size});
    std::vector<size_t> lens = ChunkLengths(gear, p, zeros);
    ASSERT_GE(lens.size(), 8u);
    for (size_t i = 0; i + 1 < lens.size(); ++i) {
      EXPECT_EQ(lens[i], lens[0]);
      EXPECT_GE(lens[i], p.min_size);
      EXPECT_LE(lens[i], p.max_size);
    }
  }
}

// ---- Insertion resistance ----

std::vector<size_t> ChunkHashes(const ChunkerParams& p, ByteView data) {
  std::vector<size_t> hashes;
  GearTable gear = TestGear();
  while (!data.empty()) {
    size_t len = FindBoundary(gear, p, data);
    hashes.push_back(std::hash<std::string_view>()(AsString(data.first(len))));
    data = data.subspan(len);
  }
  return hashes;
}

// Fraction of the original's chunks that still occur in the edited input.
double SurvivingFraction(const ChunkerParams& p, ByteView original, ByteView edited) {
  std::vector<size_t> before = ChunkHashes(p, original);
  std::vector<size_t> after_list = ChunkHashes(p, edited);
  std::unordered_set<size_t> after(after_list.begin(), after_list.end());
  size_t kept = 0;
  for (size_t h : before) kept += after.count(h);
  return static_cast<double>(kept) / static_cast<double>(before.size());
}

class InsertionResistance : public testing::TestWithParam<bool> {
 protected:
  ChunkerParams Params() const { return GetParam() ? ChunkerParams::Default() : SmallParams(); }
};

TEST_P(InsertionResistance, InsertNearStart) {
  Bytes data = RandomData(32u << 20, 10);
  Bytes edited = data;
  Bytes extra = RandomData(100, 11);
  edited.insert(edited.begin() + 1000, extra.begin(), extra.end());
  EXPECT_GE(SurvivingFraction(Params(), data, edited), 0.95);
}

TEST_P(InsertionResistance, ModifyMiddle) {
  Bytes data = RandomData(32u << 20, 12);
  Bytes edited = data;
  for (size_t i = 0; i < 4; ++i) edited[data.size() / 2 + 97 * i] ^= 0x5a;
  EXPECT_GE(SurvivingFraction(Params(), data, edited), 0.95);
}

TEST_P(InsertionResistance, DeleteNearStart) {
  Bytes data = RandomData(32u << 20, 13);
  Bytes edited = data;
  edited.erase(edited.begin() + 5000, edited.begin() + 5100);
  EXPECT_GE(SurvivingFraction(Params(), data, edited), 0.95);
}

INSTANTIATE_TEST_SUITE_P(Params, InsertionResistance, testing::Values(false, true),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Default") : std::string("Small");
                         });

// ---- Streaming Chunker ----

// Hands out at most `step` bytes per call, to exercise refills on short reads.
class SteppedReader : public Reader {
 public:
  SteppedReader(ByteView data, size_t step) : data_(data), step_(step) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    size_t k = std::min({n, step_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  ByteView data_;
  size_t step_;
  size_t pos_ = 0;
};

// Serves `good` bytes, then fails.
class FailingReader : public Reader {
 public:
  explicit FailingReader(size_t good) : good_(good) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    if (served_ == good_) return Status::IOError("disk on fire");
    size_t k = std::min(n, good_ - served_);
    std::memset(buf, 0xab, k);
    served_ += k;
    return k;
  }

 private:
  size_t good_;
  size_t served_ = 0;
};

Result<std::vector<Bytes>> StreamChunks(const GearTable& gear, const ChunkerParams& p, Reader* r) {
  std::vector<Bytes> chunks;
  Chunker chunker(gear, p, r);
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<ByteView> c, chunker.Next());
    if (!c) break;
    chunks.emplace_back(c->begin(), c->end());
  }
  return chunks;
}

std::vector<Bytes> BufferChunks(const GearTable& gear, const ChunkerParams& p, ByteView data) {
  std::vector<Bytes> chunks;
  for (size_t len : ChunkLengths(gear, p, data)) {
    chunks.emplace_back(data.begin(), data.begin() + len);
    data = data.subspan(len);
  }
  return chunks;
}

TEST(Chunker, EqualsFindBoundaryOverWholeBuffer) {
  GearTable gear = TestGear();
  for (const ChunkerParams& p : {SmallParams(), ChunkerParams::Default()}) {
    Bytes data = RandomData((6u << 20) + 12345, 14);
    MemReader r(data);
    Result<std::vector<Bytes>> got = StreamChunks(gear, p, &r);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, BufferChunks(gear, p, data));
  }
}

TEST(Chunker, ShortReadsGiveSameChunks) {
  GearTable gear = TestGear();
  ChunkerParams p = SmallParams();
  Bytes data = RandomData((1u << 20) + 777, 15);
  std::vector<Bytes> want = BufferChunks(gear, p, data);
  for (size_t step : {size_t{1}, size_t{7}, size_t{p.max_size - 1}, size_t{p.max_size + 1}}) {
    SteppedReader r(data, step);
    Result<std::vector<Bytes>> got = StreamChunks(gear, p, &r);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, want) << "step " << step;
  }
}

TEST(Chunker, EmptyInputHasNoChunks) {
  GearTable gear = TestGear();
  MemReader r{ByteView()};
  Chunker chunker(gear, SmallParams(), &r);
  Result<std::optional<ByteView>> c = chunker.Next();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
  EXPECT_EQ(chunker.bytes_read(), 0u);
}

TEST(Chunker, InputShorterThanMinIsOneChunk) {
  GearTable gear = TestGear();
  ChunkerParams p = SmallParams();
  Bytes data = RandomData(p.min_size - 1, 16);
  MemReader r(data);
  Chunker chunker(gear, p, &r);
  Result<std::optional<ByteView>> c = chunker.Next();
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ(AsString(**c), AsString(data));
  c = chunker.Next();
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->has_value());
  EXPECT_EQ(chunker.bytes_read(), data.size());
}

TEST(Chunker, ReaderErrorSurfaces) {
  GearTable gear = TestGear();
  ChunkerParams p = SmallParams();
  FailingReader r(3 * p.max_size + 5);
  Result<std::vector<Bytes>> got = StreamChunks(gear, p, &r);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kIOError);
  EXPECT_NE(got.status().message().find("disk on fire"), std::string::npos);
  EXPECT_NE(got.status().message().find("chunker"), std::string::npos);
}

// ---- Params ----

TEST(ChunkerParams, DefaultIsValid) {
  ChunkerParams p = ChunkerParams::Default();
  EXPECT_EQ(p.min_size, 64u << 10);
  EXPECT_EQ(p.avg_size, 256u << 10);
  EXPECT_EQ(p.max_size, 1u << 20);
  EXPECT_TRUE(p.Validate().ok());
  EXPECT_TRUE(SmallParams().Validate().ok());
}

TEST(ChunkerParams, AcceptsLimits) {
  EXPECT_TRUE((ChunkerParams{64, 256, 256}.Validate().ok()));
  EXPECT_TRUE((ChunkerParams{64u << 20, 64u << 20, 64u << 20}.Validate().ok()));
}

TEST(ChunkerParams, RejectsBadParams) {
  const ChunkerParams bad[] = {
      {0, 0, 0},                      // all zero
      {2048, 8000, 32768},            // avg not a power of two
      {64, 128, 1024},                // avg below 256
      {64, 128u << 20, 128u << 20},   // avg above 64 MiB
      {63, 8192, 32768},              // min below 64
      {16384, 8192, 32768},           // min above avg
      {2048, 8192, 4096},             // max below avg
      {2048, 8192, (64u << 20) + 1},  // max above 64 MiB
  };
  for (const ChunkerParams& p : bad) {
    Status s = p.Validate();
    EXPECT_EQ(s.code(), Code::kInvalidArgument)
        << p.min_size << "/" << p.avg_size << "/" << p.max_size;
    EXPECT_FALSE(s.message().empty());
  }
}

}  // namespace
}  // namespace cairn
