#include "repo/scrub.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "repo/backup.h"
#include "repo/pack.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::RandomData;
using testing::TempDir;

class ScrubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = OpenLocalBackend(tmp_ / "repo", true);
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", testing::TestInitOptions()).ok());
    Reopen();
    testing::WriteFile(tmp_ / "src/app/a.bin", RandomData(3 << 20, 1));
    testing::WriteFile(tmp_ / "src/app/b.txt", AsBytes("hello"));
    auto r = BackupPaths(repo_.get(), {tmp_ / "src/app"}, BackupOptions{}, nullptr);
    ASSERT_TRUE(r.ok());
  }
  void Reopen(std::unique_ptr<Backend> backend = nullptr) {
    repo_.reset();
    if (!backend) backend = std::move(OpenLocalBackend(tmp_ / "repo", false)).value();
    repo_ = std::move(Repository::Open(std::move(backend), "pw", OpenOptions{tmp_ / "cache"})).value();
  }
  std::vector<fs::path> Packs() { return testing::PackFiles(tmp_ / "repo"); }
  ScrubReport Run(bool read_data) {
    ScrubOptions o;
    o.read_data = read_data;
    auto r = Scrub(repo_.get(), o, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ScrubReport{};
  }
  std::string All(const ScrubReport& r) {
    std::string s;
    for (const auto& f : r.findings) {
      s += f.object + ": " + f.problem + "\n";
      for (const auto& a : f.affected) s += "  " + a + "\n";
    }
    return s;
  }

  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(ScrubTest, CleanRepositoryHasNoFindings) {
  ScrubReport r = Run(true);
  EXPECT_FALSE(r.damaged());
  EXPECT_TRUE(r.findings.empty()) << All(r);
  EXPECT_EQ(r.snapshots, 1u);
  EXPECT_EQ(r.packs_read, r.packs);
  EXPECT_GT(r.blobs_read, 100u);
}

TEST_F(ScrubTest, FlippedByteIsFoundAndNamesTheFile) {
  fs::path victim = testing::LargestPack(tmp_ / "repo");  // holds data blobs of a.bin
  testing::FlipMiddleByte(victim);
  EXPECT_FALSE(Run(false).damaged());  // structure alone cannot see flipped bytes
  ScrubReport r = Run(true);
  EXPECT_TRUE(r.damaged());
  std::string all = All(r);
  EXPECT_NE(all.find("pack " + victim.filename().string()), std::string::npos) << all;
  EXPECT_NE(all.find("authentication failed"), std::string::npos) << all;
  EXPECT_NE(all.find("app/a.bin"), std::string::npos) << all;
  EXPECT_EQ(all.find("app/b.txt"), std::string::npos) << all;
}

// Scrub skips hashing packs whose envelopes tile them, so a pack file replaced by another
// authentic pack of the same size (here: the same envelopes in another order under a fresh
// trailer) must still be found, by comparing the trailer with the index.
TEST_F(ScrubTest, PackRewrittenWithItsBlobsElsewhereIsFound) {
  fs::path victim = testing::LargestPack(tmp_ / "repo");
  Bytes old = testing::ReadFile(victim.string());
  auto entries = ReadPackTrailer(old.size(), repo_->sealer(), [&](uint64_t off, uint64_t len) -> Result<Bytes> {
    return Bytes(old.begin() + off, old.begin() + off + len);
  });
  ASSERT_TRUE(entries.ok());
  ASSERT_GE(entries->size(), 2u);
  // Offsets are varints, so an order can change the trailer's length (chunk boundaries depend
  // on the repository's random chunker key): take the first other order that keeps the size.
  std::vector<size_t> order(entries->size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Bytes rewritten;
  for (int tries = 0; tries < 1000 && std::next_permutation(order.begin(), order.end()); ++tries) {
    PackBuilder builder;
    for (size_t i : order) {
      const BlobEntry& e = (*entries)[i];
      builder.Add(SealedBlob{e.type, e.id, e.raw_length, e.compression,
                             Bytes(old.begin() + e.offset, old.begin() + e.offset + e.length)});
    }
    rewritten = builder.Finish(repo_->sealer());
    if (rewritten.size() == old.size()) break;
  }
  ASSERT_EQ(rewritten.size(), old.size()) << "no reordering of " << entries->size() << " blobs keeps the size";
  ASSERT_NE(rewritten, old);
  testing::WriteFile(victim.string(), rewritten);

  ScrubReport r = Run(true);
  EXPECT_TRUE(r.damaged());
  std::string all = All(r);
  EXPECT_NE(all.find("pack " + victim.filename().string()), std::string::npos) << all;
  EXPECT_NE(all.find("not where the pack's trailer lists them"), std::string::npos) << all;
  EXPECT_NE(all.find("app/a.bin"), std::string::npos) << all;
}

TEST_F(ScrubTest, MissingPackIsDamage) {
  std::vector<fs::path> packs = Packs();
  fs::remove(packs[0]);
  ScrubReport r = Run(false);
  EXPECT_TRUE(r.damaged());
  EXPECT_NE(All(r).find("missing from the repository"), std::string::npos) << All(r);
}

TEST_F(ScrubTest, UnindexedPackIsANoticeNotDamage) {
  // A writer whose index file write fails leaves a durable but unindexed pack.
  auto base = OpenLocalBackend(tmp_ / "repo", false);
  FaultPlan plan;
  plan.fail_put_after = 0;
  plan.fail_put_any_type = false;
  plan.fail_put_type = ObjectType::kIndex;
  Reopen(std::make_unique<FaultyBackend>(base->get(), plan));
  testing::WriteFile(tmp_ / "src/other/c.bin", RandomData(1 << 20, 2));
  ASSERT_FALSE(BackupPaths(repo_.get(), {tmp_ / "src/other"}, BackupOptions{}, nullptr).ok());
  Reopen();
  ScrubReport r = Run(true);
  EXPECT_FALSE(r.damaged()) << All(r);
  EXPECT_NE(All(r).find("not in any index file"), std::string::npos) << All(r);
}

TEST_F(ScrubTest, SubsetsPartitionThePacks) {
  uint64_t total = 0;
  for (uint32_t n = 1; n <= 3; ++n) {
    ScrubOptions o;
    ASSERT_TRUE(ParseDataSubset(std::to_string(n) + "/3", &o).ok());
    auto r = Scrub(repo_.get(), o, nullptr);
    ASSERT_TRUE(r.ok());
    total += r->packs_read;
  }
  EXPECT_EQ(total, Packs().size());
  ScrubOptions all;
  ASSERT_TRUE(ParseDataSubset("100%", &all).ok());
  EXPECT_EQ(Scrub(repo_.get(), all, nullptr)->packs_read, Packs().size());
}

// --- rotating scrub and scrub state ---

constexpr int64_t kDay = int64_t{86400} * 1000000000;
constexpr int64_t kT0 = int64_t{1795000000} * 1000000000;  // a fixed "now" in 2026

class RotatingScrubTest : public ScrubTest {
 protected:
  ScrubReport Budget(uint64_t bytes, int64_t now_ns) {
    ScrubOptions o;
    o.read_data = true;
    o.budget_bytes = bytes;
    o.now_ns = now_ns;
    auto r = Scrub(repo_.get(), o, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return ScrubReport{};
    EXPECT_EQ(r->state_problem, "");
    EXPECT_NE(r->state_object, "");
    return *r;
  }
  ScrubStatus Status(int64_t now_ns, int64_t every_ns = 0) {
    auto st = GetScrubStatus(repo_.get(), now_ns, every_ns);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? *st : ScrubStatus{};
  }
  std::map<Id, int64_t> Times() {
    std::map<Id, int64_t> out;
    for (const PackStatus& p : Status(kT0).packs) out[p.pack] = p.check.time_ns;
    return out;
  }
  std::vector<std::string> StateObjects() {
    std::vector<std::string> out;
    EXPECT_TRUE(repo_->backend()->List(ObjectType::kScrub, [&](const std::string& n, uint64_t) {
      out.push_back(n);
      return Status::OK();
    }).ok());
    return out;
  }
};

TEST_F(RotatingScrubTest, RepositoryWithoutStateHasEverythingNeverVerified) {
  ScrubStatus st = Status(kT0);
  EXPECT_EQ(st.total.packs, Packs().size());
  EXPECT_EQ(st.never.packs, st.total.packs);
  EXPECT_EQ(st.never.bytes, st.total.bytes);
  EXPECT_EQ(st.oldest_ns, 0);
  EXPECT_TRUE(StateObjects().empty());
  EXPECT_TRUE(Run(false).state_object.empty());  // the structure check records nothing
}

TEST_F(RotatingScrubTest, EachRunContinuesWhereThePreviousStoppedThenWraps) {
  size_t n = Packs().size();
  ASSERT_GE(n, 3u);
  // A one-byte budget reads exactly one pack per run (at least one is always read).
  std::set<Id> seen;
  for (size_t i = 0; i < n; ++i) {
    ScrubReport r = Budget(1, kT0 + static_cast<int64_t>(i) * kDay);
    EXPECT_EQ(r.packs_read, 1u);
    std::map<Id, int64_t> times = Times();
    for (const auto& [pack, t] : times) {
      if (t == kT0 + static_cast<int64_t>(i) * kDay) {
        EXPECT_TRUE(seen.insert(pack).second);
      }
    }
  }
  EXPECT_EQ(seen.size(), n);  // every pack once, none twice
  EXPECT_EQ(Status(kT0 + 10 * kDay).never.packs, 0u);
  // The next run wraps round to the pack verified first, the longest ago.
  std::map<Id, int64_t> before = Times();
  Budget(1, kT0 + 100 * kDay);
  std::map<Id, int64_t> after = Times();
  for (const auto& [pack, t] : before)
    EXPECT_EQ(after[pack], t == kT0 ? kT0 + 100 * kDay : t);
  EXPECT_EQ(StateObjects().size(), 1u);  // each run replaced the previous state object
}

TEST_F(RotatingScrubTest, SizeBudgetReadsPacksUntilItIsUsed) {
  uint64_t total = Status(kT0).total.bytes;
  ScrubReport r = Budget(total / 2, kT0);
  EXPECT_LE(r.bytes_read, total / 2);
  EXPECT_GE(r.packs_read, 1u);
  ScrubReport rest = Budget(total, kT0 + kDay);
  EXPECT_EQ(rest.bytes_read, total);  // everything fits: the verified ones are read again too
  EXPECT_EQ(Status(kT0 + kDay).within_1d.bytes, total);
}

TEST_F(RotatingScrubTest, DurationBudgetStillReadsOnePack) {
  ScrubOptions o;
  ASSERT_TRUE(ParseScrubBudget("1s", &o).ok());
  o.budget_ns = 1;  // used up before the first pack: it is read anyway
  auto r = Scrub(repo_.get(), o, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->packs_read, 1u);
}

TEST_F(RotatingScrubTest, StateSurvivesReopen) {
  Budget(1, kT0);
  Reopen();
  ScrubStatus st = Status(kT0 + 1);
  EXPECT_EQ(st.within_1d.packs, 1u);
  EXPECT_EQ(st.oldest_ns, kT0);
}

TEST_F(RotatingScrubTest, FullAndSubsetReadsAreRecordedToo) {
  ScrubOptions o;
  o.read_data = true;
  o.now_ns = kT0;
  ASSERT_TRUE(Scrub(repo_.get(), o, nullptr).ok());
  ScrubStatus st = Status(kT0 + 2 * kDay);
  EXPECT_EQ(st.never.packs, 0u);
  EXPECT_EQ(st.within_1d.packs, 0u);
  EXPECT_EQ(st.within_7d.packs, st.total.packs);
}

TEST_F(RotatingScrubTest, ConcurrentStateObjectsMergeNewestFirst) {
  std::vector<fs::path> packs = Packs();
  Id a = *Id::FromHex(packs[0].filename().string()), b = *Id::FromHex(packs[1].filename().string());
  // Two scrubs that ran at once each wrote their own object, neither replacing the other's.
  ScrubState one, two;
  one.packs[a] = PackCheck{kT0, false};
  one.packs[b] = PackCheck{kT0 + 5 * kDay, false};
  two.packs[a] = PackCheck{kT0 + 3 * kDay, true};
  ASSERT_TRUE(SaveScrubState(repo_->backend(), repo_->sealer(), one, {}).ok());
  ASSERT_TRUE(SaveScrubState(repo_->backend(), repo_->sealer(), two, {}).ok());
  auto loaded = LoadScrubState(repo_->backend(), repo_->sealer());
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->merged.size(), 2u);
  EXPECT_EQ(loaded->state.packs[a].time_ns, kT0 + 3 * kDay);
  EXPECT_TRUE(loaded->state.packs[a].damaged);
  EXPECT_EQ(loaded->state.packs[b].time_ns, kT0 + 5 * kDay);
  // The next run merges both into one object and keeps what each recorded.
  Budget(1, kT0 + 10 * kDay);
  EXPECT_EQ(StateObjects().size(), 1u);
  std::map<Id, int64_t> times = Times();
  EXPECT_EQ(times[b], kT0 + 5 * kDay);
  // `a` was "damaged at its last check", so it is read first, and found clean now.
  EXPECT_EQ(times[a], kT0 + 10 * kDay);
  EXPECT_EQ(Status(kT0 + 10 * kDay).damaged.packs, 0u);
}

TEST_F(RotatingScrubTest, DamageIsFoundAndReportedByEveryRunUntilRepaired) {
  std::vector<fs::path> packs = Packs();
  fs::path victim = testing::LargestPack(tmp_ / "repo");
  Bytes good = testing::ReadFile(victim);
  testing::FlipMiddleByte(victim);
  // Runs of one pack each until the damaged pack comes round.
  bool found = false;
  for (size_t i = 0; i < packs.size() && !found; ++i) found = Budget(1, kT0 + static_cast<int64_t>(i)).damaged();
  ASSERT_TRUE(found);
  EXPECT_EQ(Status(kT0 + kDay).damaged.packs, 1u);
  // The damaged pack stays first in line: the next run reads it again and still reports it.
  ScrubReport again = Budget(1, kT0 + kDay);
  EXPECT_TRUE(again.damaged());
  EXPECT_NE(All(again).find("app/a.bin"), std::string::npos) << All(again);
  // Put back from a good copy, the next run finds it clean and the status clears.
  testing::WriteFile(victim, good);
  EXPECT_FALSE(Budget(1, kT0 + 2 * kDay).damaged());
  EXPECT_EQ(Status(kT0 + 2 * kDay).damaged.packs, 0u);
}

TEST_F(RotatingScrubTest, StatusFiguresAndTheBudgetThatKeepsAPromise) {
  ScrubOptions o;
  o.read_data = true;
  o.now_ns = kT0;
  ASSERT_TRUE(Scrub(repo_.get(), o, nullptr).ok());
  ScrubStatus st = Status(kT0 + 2 * kDay, 7 * kDay);
  EXPECT_EQ(st.within_1d.packs, 0u);
  EXPECT_EQ(st.within_7d.bytes, st.total.bytes);
  EXPECT_EQ(st.within_30d.bytes, st.total.bytes);
  EXPECT_EQ(st.oldest_ns, kT0);
  EXPECT_TRUE(st.meets_every);
  uint64_t largest = 0;
  for (const PackStatus& p : st.packs) largest = std::max(largest, p.size_bytes);
  EXPECT_EQ(st.daily_budget_bytes, std::min(st.total.bytes, (st.total.bytes + 6) / 7 + largest));
  EXPECT_GT(st.last_run_bytes, 0u);
  ScrubStatus late = Status(kT0 + 8 * kDay, 7 * kDay);
  EXPECT_FALSE(late.meets_every);
  EXPECT_EQ(late.overdue.bytes, late.total.bytes);
  EXPECT_EQ(late.within_7d.packs, 0u);
  EXPECT_EQ(Status(kT0, kDay / 2).daily_budget_bytes, st.total.bytes);  // less than a day: all
}

TEST_F(RotatingScrubTest, UnreadableStateObjectIsANoticeAndLeftAlone) {
  ASSERT_TRUE(repo_->backend()->Put({ObjectType::kScrub, std::string(64, 'a')}, AsBytes("junk")).ok());
  ScrubReport r = Budget(1, kT0);
  EXPECT_FALSE(r.damaged());
  EXPECT_NE(All(r).find("scrub state aaaaaaaa"), std::string::npos) << All(r);
  EXPECT_EQ(StateObjects().size(), 2u);  // ours and the unreadable one, kept for inspection
  EXPECT_EQ(Status(kT0).problems.size(), 1u);
}

TEST(ScrubState, EncodingRoundTripsAndRejectsMalformedInput) {
  ScrubState s;
  s.written_ns = kT0;
  s.run_bytes = 123;
  s.run_ns = 456;
  Id a, b;
  a.bytes[0] = 1;
  b.bytes[0] = 2;
  s.packs[a] = PackCheck{kT0 - 1, false};
  s.packs[b] = PackCheck{kT0, true};
  Bytes enc = EncodeScrubState(s);
  auto dec = DecodeScrubState(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->written_ns, kT0);
  EXPECT_EQ(dec->run_bytes, 123u);
  EXPECT_EQ(dec->packs.size(), 2u);
  EXPECT_TRUE(dec->packs[b].damaged);
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_EQ(DecodeScrubState(trailing).status().code(), Code::kCorruption);
  Bytes version = enc;
  version[0] = 2;
  EXPECT_EQ(DecodeScrubState(version).status().code(), Code::kCorruption);
  Bytes truncated(enc.begin(), enc.end() - 1);
  EXPECT_EQ(DecodeScrubState(truncated).status().code(), Code::kCorruption);
  Bytes huge_count = {1, 0, 0, 0, 0xff, 0xff, 0x03};
  EXPECT_EQ(DecodeScrubState(huge_count).status().code(), Code::kCorruption);
  // Entries must be in strictly ascending pack order: the same pack twice is rejected.
  ScrubState one;
  one.packs[b] = PackCheck{1, false};
  Bytes single = EncodeScrubState(one);  // header: version, three one-byte zeros, count at [4]
  Bytes twice = single;
  twice[4] = 2;
  twice.insert(twice.end(), single.begin() + 5, single.end());
  EXPECT_EQ(DecodeScrubState(twice).status().code(), Code::kCorruption);
}

TEST(ScrubParse, Budgets) {
  struct Case {
    const char* spec;
    uint64_t bytes;
    int64_t ns;
  } ok[] = {{"20GiB", 20ull << 30, 0}, {"500M", 500ull << 20, 0}, {"10GB", 10000000000ull, 0},
            {"4096", 4096, 0},          {"1T", 1ull << 40, 0},    {"30m", 0, 1800000000000},
            {"2h", 0, 7200000000000},   {"90s", 0, 90000000000},  {"1d", 0, 86400000000000}};
  for (const Case& c : ok) {
    ScrubOptions o;
    ASSERT_TRUE(ParseScrubBudget(c.spec, &o).ok()) << c.spec;
    EXPECT_EQ(o.budget_bytes, c.bytes) << c.spec;
    EXPECT_EQ(o.budget_ns, c.ns) << c.spec;
    EXPECT_TRUE(o.read_data);
  }
  for (const char* bad : {"", "0", "0m", "GiB", "-5G", "5 G", "5gib", "5x", "1.5G", "99999999999999999999T"}) {
    ScrubOptions o;
    EXPECT_EQ(ParseScrubBudget(bad, &o).code(), Code::kInvalidArgument) << bad;
  }
}

TEST(ScrubParse, RejectsMalformedSubsets) {
  for (const char* bad : {"", "0/3", "4/3", "1/0", "x/y", "0%", "101%", "abc", "1-3"}) {
    ScrubOptions o;
    EXPECT_EQ(ParseDataSubset(bad, &o).code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace cairn
