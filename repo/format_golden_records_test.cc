// Golden files of the optional record objects of format v1 (FORMAT.md 13.1-13.3): prune
// records, scrub state and repair records, written by `make_golden --records` and never edited.
// A failure here means the code changed how existing repositories' records read: fix the code.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "repo/format_golden_util.h"
#include "repo/prune_record.h"
#include "repo/repair_record.h"
#include "repo/scrub_state.h"

namespace cairn {
namespace {

using golden::Golden;

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kBaseTimeNs = 1700000000 * kSecond;

Id FixedId(uint8_t first) {
  Id id;
  for (size_t i = 0; i < Id::kSize; ++i) id.bytes[i] = static_cast<uint8_t>(first + i);
  return id;
}

// Every strict prefix must be refused: each ends inside a field or before a counted entry.
template <typename Decode>
void ExpectPrefixesRefused(const Bytes& golden, Decode decode) {
  for (size_t n = 0; n < golden.size(); ++n)
    EXPECT_FALSE(decode(ByteView(golden.data(), n)).ok()) << "prefix of " << n << " bytes";
  Bytes longer = golden;
  longer.push_back(0);
  EXPECT_FALSE(decode(longer).ok()) << "a trailing byte";
}

TEST(FormatGoldenRecords, PruneRecord) {
  Bytes golden = Golden("prune_record.bin");
  Result<PruneRecord> r = DecodePruneRecord(golden);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(golden[0], 1);  // version
  EXPECT_EQ(r->mark_time_ns, kBaseTimeNs + 5 * kSecond);
  EXPECT_EQ(r->grace_ns, 48 * 3600 * kSecond);
  ASSERT_EQ(r->packs.size(), 2u);
  EXPECT_EQ(r->packs[0].id, FixedId(0x10));
  EXPECT_EQ(r->packs[0].size, 16777229u);
  EXPECT_EQ(r->packs[1].id, FixedId(0x30));
  EXPECT_EQ(r->packs[1].size, 300u);
  EXPECT_EQ(EncodePruneRecord(*r), golden);
  ExpectPrefixesRefused(golden, DecodePruneRecord);
}

TEST(FormatGoldenRecords, ScrubState) {
  Bytes golden = Golden("scrub_state.bin");
  Result<ScrubState> s = DecodeScrubState(golden);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(golden[0], kScrubStateVersion);
  EXPECT_EQ(s->written_ns, kBaseTimeNs + 7 * kSecond);
  EXPECT_EQ(s->run_bytes, 3790000000u);
  EXPECT_EQ(s->run_ns, 4100000000);
  ASSERT_EQ(s->packs.size(), 2u);
  EXPECT_EQ(s->packs.at(FixedId(0x10)).time_ns, kBaseTimeNs + 6 * kSecond);
  EXPECT_FALSE(s->packs.at(FixedId(0x10)).damaged);
  EXPECT_EQ(s->packs.at(FixedId(0x50)).time_ns, kBaseTimeNs - 86400 * kSecond);
  EXPECT_TRUE(s->packs.at(FixedId(0x50)).damaged);
  EXPECT_EQ(EncodeScrubState(*s), golden);
  ExpectPrefixesRefused(golden, DecodeScrubState);
}

TEST(FormatGoldenRecords, RepairRecord) {
  Bytes golden = Golden("repair_record.bin");
  Result<RepairRecord> r = DecodeRepairRecord(golden);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(golden[0], kRepairRecordVersion);
  EXPECT_EQ(r->time_ns, kBaseTimeNs + 9 * kSecond);
  ASSERT_EQ(r->quarantined.size(), 1u);
  EXPECT_EQ(r->quarantined[0].id, FixedId(0x50));
  EXPECT_EQ(r->quarantined[0].size, 4096u);
  ASSERT_EQ(r->damaged.size(), 2u);
  EXPECT_EQ(r->damaged[0].id, FixedId(0x70));
  EXPECT_EQ(r->damaged[0].missing_blobs, 2u);
  EXPECT_EQ(r->damaged[0].damaged_files, 3u);
  EXPECT_EQ(r->damaged[0].files, (std::vector<std::string>{"app/a.bin", "app/h\xc3\xb4te/b", "db"}));
  EXPECT_EQ(r->damaged[1].id, FixedId(0x90));
  EXPECT_EQ(r->damaged[1].missing_blobs, 1u);
  EXPECT_EQ(r->damaged[1].damaged_files, 0u);
  EXPECT_TRUE(r->damaged[1].files.empty());
  EXPECT_EQ(EncodeRepairRecord(*r), golden);
  ExpectPrefixesRefused(golden, DecodeRepairRecord);
}

}  // namespace
}  // namespace cairn
