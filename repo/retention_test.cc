#include "repo/retention.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace cairn {
namespace {

constexpr int64_t kHour = 3600ll * 1000000000;
constexpr int64_t kDay = 24 * kHour;
// 2026-11-23 12:00:00 UTC (a Monday).
constexpr int64_t kNow = 1795435200ll * 1000000000;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  SnapshotRef Snap(int64_t time_ns, const std::string& host = "db1",
                   std::vector<std::string> tags = {}) {
    SnapshotRef r;
    r.id.bytes[0] = static_cast<uint8_t>(next_ >> 8);
    r.id.bytes[1] = static_cast<uint8_t>(next_++);
    r.snapshot.time_ns = time_ns;
    r.snapshot.host = host;
    r.snapshot.paths = {"/srv/app"};
    r.snapshot.kind = "files";
    r.snapshot.tags = std::move(tags);
    return r;
  }
  // Hourly snapshots for `days` days back from kNow.
  std::vector<SnapshotRef> Hourly(int days) {
    std::vector<SnapshotRef> v;
    for (int h = 0; h < days * 24; ++h) v.push_back(Snap(kNow - h * kHour));
    return v;
  }
  static int Kept(const RetentionGroup& g) {
    int n = 0;
    for (const auto& d : g.decisions) n += d.keep;
    return n;
  }
  int next_ = 1;
};

TEST_F(RetentionTest, SevenDailyFourWeeklyTwelveMonthly) {
  RetentionPolicy p;
  p.daily = 7;
  p.weekly = 4;
  p.monthly = 12;
  auto groups = ApplyRetention(Hourly(400), p, GroupBy{});
  ASSERT_EQ(groups.size(), 1u);
  const auto& d = groups[0].decisions;
  // Newest first; the newest snapshot holds today's, this week's and this month's bucket.
  EXPECT_TRUE(d[0].keep);
  EXPECT_EQ(d[0].reasons.size(), 3u);
  // Daily buckets: the newest snapshot of each of the last 7 days (the last hour of each day).
  int daily = 0;
  for (const auto& x : d)
    for (const auto& r : x.reasons) daily += r.rfind("daily ", 0) == 0;
  EXPECT_EQ(daily, 7);
  // 7 days + up to 4 weeks + 12 months overlap: between 12 and 23 snapshots are kept.
  int kept = Kept(groups[0]);
  EXPECT_GE(kept, 12);
  EXPECT_LE(kept, 23);
  // Snapshots kept for a month are the newest of their month.
  for (const auto& x : d)
    for (const auto& r : x.reasons)
      if (r == "monthly 2026-10") {
        EXPECT_EQ(x.snapshot.snapshot.time_ns, 1793487600ll * 1000000000);  // 2026-10-31 23:00
      }
}

TEST_F(RetentionTest, LastWithinAndTags) {
  std::vector<SnapshotRef> v = {Snap(kNow), Snap(kNow - kDay), Snap(kNow - 3 * kDay, "db1", {"pre-upgrade"}),
                                Snap(kNow - 10 * kDay), Snap(kNow - 20 * kDay)};
  RetentionPolicy p;
  p.last = 1;
  p.within_ns = 2 * kDay;
  p.tags = {"pre-upgrade"};
  auto g = ApplyRetention(v, p, GroupBy{})[0].decisions;
  EXPECT_TRUE(g[0].keep);
  EXPECT_TRUE(g[1].keep);
  EXPECT_TRUE(g[2].keep);
  EXPECT_EQ(g[2].reasons, std::vector<std::string>{"tag pre-upgrade"});
  EXPECT_FALSE(g[3].keep);
  EXPECT_FALSE(g[4].keep);
}

TEST_F(RetentionTest, GroupsAreJudgedSeparately) {
  std::vector<SnapshotRef> v = {Snap(kNow, "db1"), Snap(kNow - kHour, "db1"), Snap(kNow - 5 * kDay, "db2"),
                                Snap(kNow - 6 * kDay, "db2")};
  RetentionPolicy p;
  p.last = 1;
  auto groups = ApplyRetention(v, p, GroupBy{});
  ASSERT_EQ(groups.size(), 2u);
  for (const auto& g : groups) EXPECT_EQ(Kept(g), 1);  // db2's old snapshot survives db1's newer ones
  auto together = ApplyRetention(v, p, *GroupBy::Parse(""));
  ASSERT_EQ(together.size(), 1u);
  EXPECT_EQ(Kept(together[0]), 1);
}

TEST_F(RetentionTest, ParsesDurationsAndGroupBy) {
  EXPECT_EQ(*ParseDurationNs("7d"), 7 * kDay);
  EXPECT_EQ(*ParseDurationNs("36h"), 36 * kHour);
  EXPECT_EQ(*ParseDurationNs("1y6m"), 365 * kDay + 180 * kDay);
  EXPECT_EQ(*ParseDurationNs("2w"), 14 * kDay);
  for (const char* bad : {"", "7", "d", "7x", "-3d", "7d3"})
    EXPECT_FALSE(ParseDurationNs(bad).ok()) << bad;
  EXPECT_TRUE(GroupBy::Parse("host,tags").ok());
  EXPECT_FALSE(GroupBy::Parse("host,color").ok());
}

}  // namespace
}  // namespace cairn
