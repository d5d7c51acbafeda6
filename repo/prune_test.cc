#include "repo/prune.h"

#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"
#include "repo/backup.h"
#include "repo/prune_record.h"
#include "repo/restore.h"
#include "repo/scrub.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

using testing::Describe;
using testing::RandomData;
using testing::TempDir;
using testing::WriteFile;

constexpr int64_t kHour = 3600ll * 1'000'000'000;

class PruneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = testing::MakeTestRepo(tmp_.path());
    ASSERT_NE(repo_, nullptr);
  }

  std::unique_ptr<Repository> Reopen(const std::string& cache = "cache", int64_t start_ns = 0) {
    auto backend = OpenLocalBackend(tmp_ / "repo", false);
    auto repo = Repository::Open(std::move(backend).value(), "pw", OpenOptions{tmp_ / cache, start_ns});
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(repo).value() : nullptr;
  }

  // Backs up <tmp>/src/<name> holding `files` random files; returns the snapshot id.
  Id Snap(Repository* repo, const std::string& name, int files, uint64_t seed) {
    std::string dir = tmp_ / ("src/" + name);
    for (int i = 0; i < files; ++i)
      WriteFile(dir + "/f" + std::to_string(i), RandomData(40000 + i * 1000, seed * 1000 + i));
    auto r = BackupPaths(repo, {dir}, BackupOptions{}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->snapshot_id : Id{};
  }

  // Restores a snapshot and compares it with its source folder.
  void ExpectRestores(Repository* repo, const Id& id, const std::string& name) {
    auto snap = repo->FindSnapshot(id.Hex());
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    std::string out = tmp_ / ("out-" + std::to_string(restores_++));
    RestoreOptions o;
    o.target = out;
    auto r = RestoreToDir(repo, snap->snapshot, o, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->damaged, 0u);
    EXPECT_EQ(Describe(out + "/" + name), Describe(tmp_ / ("src/" + name)));
  }

  void ExpectScrubClean(Repository* repo, bool allow_orphans) {
    ScrubOptions o;
    o.read_data = true;
    auto r = Scrub(repo, o, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->damaged());
    if (!allow_orphans) {
      EXPECT_TRUE(r->findings.empty()) << r->findings[0].object << ": " << r->findings[0].problem;
    }
  }

  std::set<std::string> Objects(ObjectType type) {
    std::set<std::string> names;
    EXPECT_TRUE(repo_->backend()->List(type, [&](const std::string& n, uint64_t) {
      names.insert(n);
      return Status::OK();
    }).ok());
    return names;
  }

  uint64_t PackBytes() {
    uint64_t total = 0;
    EXPECT_TRUE(repo_->backend()->List(ObjectType::kData, [&](const std::string&, uint64_t size) {
      total += size;
      return Status::OK();
    }).ok());
    return total;
  }

  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
  int restores_ = 0;
};

TEST_F(PruneTest, NoOtherWritersFreesForgottenDataAtOnce) {
  Id keep = Snap(repo_.get(), "keep", 20, 1);
  Id gone = Snap(repo_.get(), "gone", 40, 2);
  uint64_t before = PackBytes();
  ASSERT_TRUE(repo_->ForgetSnapshot(gone).ok());
  PruneOptions o;
  o.no_other_writers = true;
  auto r = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->deleted_packs, 0u);
  EXPECT_GT(r->freed_bytes, 0u);
  EXPECT_LT(PackBytes(), before);
  EXPECT_TRUE(Objects(ObjectType::kPrune).empty());
  ExpectScrubClean(repo_.get(), false);
  ExpectRestores(repo_.get(), keep, "keep");
  // A fresh process (empty local index) sees the same repository.
  auto fresh = Reopen("cache2");
  ASSERT_NE(fresh, nullptr);
  ExpectScrubClean(fresh.get(), false);
  ExpectRestores(fresh.get(), keep, "keep");
}

TEST_F(PruneTest, DryRunChangesNothing) {
  Snap(repo_.get(), "a", 10, 1);
  Id b = Snap(repo_.get(), "b", 10, 2);
  ASSERT_TRUE(repo_->ForgetSnapshot(b).ok());
  auto packs = Objects(ObjectType::kData), index = Objects(ObjectType::kIndex);
  PruneOptions o;
  o.dry_run = true;
  o.no_other_writers = true;
  auto r = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->unused_pack_bytes, 0u);
  EXPECT_EQ(r->deleted_packs, 0u);
  EXPECT_EQ(Objects(ObjectType::kData), packs);
  EXPECT_EQ(Objects(ObjectType::kIndex), index);
  EXPECT_TRUE(Objects(ObjectType::kPrune).empty());
  EXPECT_TRUE(Objects(ObjectType::kSweep).empty());
}

TEST_F(PruneTest, TwoPhaseWaitsForTheGracePeriod) {
  Id keep = Snap(repo_.get(), "keep", 10, 1);
  Id gone = Snap(repo_.get(), "gone", 30, 2);
  ASSERT_TRUE(repo_->ForgetSnapshot(gone).ok());
  auto packs = Objects(ObjectType::kData);
  int64_t t0 = WallNowNs();
  PruneOptions o;
  o.now_ns = t0;
  auto mark = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_GT(mark->marked_packs, 0u);
  EXPECT_EQ(mark->deleted_packs, 0u);
  EXPECT_EQ(Objects(ObjectType::kData), packs);  // marked, not deleted
  EXPECT_EQ(Objects(ObjectType::kPrune).size(), 1u);
  ExpectRestores(repo_.get(), keep, "keep");
  ExpectScrubClean(repo_.get(), true);  // marked packs are unindexed: notices, not damage

  o.now_ns = t0 + 47 * kHour;  // too early
  auto early = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_EQ(early->deleted_packs, 0u);
  EXPECT_EQ(early->waiting_packs, mark->marked_packs);

  o.now_ns = t0 + 49 * kHour;
  auto sweep = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
  EXPECT_EQ(sweep->deleted_packs, mark->marked_packs);
  EXPECT_TRUE(Objects(ObjectType::kPrune).empty());
  EXPECT_EQ(Objects(ObjectType::kSweep).size(), 1u);
  ExpectScrubClean(repo_.get(), false);
  ExpectRestores(repo_.get(), keep, "keep");
}

// The race prune must survive: a writer that opened the repository before the mark
// deduplicates against blobs in packs the mark drops, and commits before the sweep.
TEST_F(PruneTest, WriterThatDedupedAgainstMarkedPacksKeepsThemAlive) {
  Id gone = Snap(repo_.get(), "data", 30, 2);
  auto writer = Reopen("cache-writer");  // opened before the mark: its index still lists the packs
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(repo_->ForgetSnapshot(gone).ok());
  int64_t t0 = WallNowNs();
  PruneOptions o;
  o.now_ns = t0;
  auto mark = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  ASSERT_GT(mark->marked_packs, 0u);

  // Same content again: every blob deduplicates against the marked packs.
  auto again = BackupPaths(writer.get(), {tmp_ / "src/data"}, BackupOptions{}, nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->snapshot.stats.blobs_added, 0u);
  // Committed before the sweep, it restores at once, from any client: the writer named the
  // marked packs it relied on in an index file of its own before writing the snapshot.
  {
    auto other = Reopen("cache-other");
    ASSERT_NE(other, nullptr);
    ExpectRestores(other.get(), again->snapshot_id, "data");
    ExpectScrubClean(other.get(), false);
  }

  o.now_ns = t0 + 49 * kHour;
  auto sweep = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
  EXPECT_EQ(sweep->deleted_packs, 0u);
  EXPECT_GT(sweep->reindexed_packs, 0u);
  ExpectScrubClean(repo_.get(), false);
  ExpectRestores(repo_.get(), again->snapshot_id, "data");
}

// The other side of the race: a writer that started before a mark and commits after the sweep
// of that mark might reference deleted packs, so it must refuse.
TEST_F(PruneTest, WriterOutlivedBySweepRefusesToCommit) {
  // Played on a shifted clock: the mark 50 hours ago, the sweep now.
  int64_t now = WallNowNs(), mark = now - 50 * kHour;
  Id gone = Snap(repo_.get(), "data", 10, 2);
  auto writer = Reopen("cache-writer", mark - kHour * 2);  // started before the mark
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(repo_->ForgetSnapshot(gone).ok());
  PruneOptions o;
  o.now_ns = mark;
  ASSERT_TRUE(Prune(repo_.get(), o, nullptr).ok());
  o.now_ns = now;
  auto sweep = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
  ASSERT_GT(sweep->deleted_packs, 0u);

  auto late = BackupPaths(writer.get(), {tmp_ / "src/data"}, BackupOptions{}, nullptr);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Code::kLocked) << late.status().ToString();
  // Sessions that started after the mark (here: now) are unaffected and store the data again.
  auto fresh = Reopen("cache-fresh");
  ASSERT_NE(fresh, nullptr);
  auto ok = BackupPaths(fresh.get(), {tmp_ / "src/data"}, BackupOptions{}, nullptr);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ExpectRestores(fresh.get(), ok->snapshot_id, "data");
  ExpectScrubClean(fresh.get(), true);  // the refused writer's packs are orphans
}

TEST_F(PruneTest, RepacksPartlyUsedPacks) {
  // One folder, then a snapshot of half of it: after forgetting the first, packs are half used.
  std::string dir = tmp_ / "src/mixed";
  for (int i = 0; i < 40; ++i) WriteFile(dir + "/f" + std::to_string(i), RandomData(30000, 100 + i));
  auto full = BackupPaths(repo_.get(), {dir}, BackupOptions{}, nullptr);
  ASSERT_TRUE(full.ok());
  for (int i = 0; i < 40; i += 2) std::filesystem::remove(dir + "/f" + std::to_string(i));
  auto half = BackupPaths(repo_.get(), {dir}, BackupOptions{}, nullptr);
  ASSERT_TRUE(half.ok());
  ASSERT_TRUE(repo_->ForgetSnapshot(full->snapshot_id).ok());
  uint64_t before = PackBytes();
  PruneOptions o;
  o.no_other_writers = true;
  o.max_unused_percent = 0;
  auto r = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->repacked_packs, 0u);
  EXPECT_TRUE(r->problems.empty());
  EXPECT_LT(PackBytes(), before * 6 / 10);
  ExpectScrubClean(repo_.get(), false);
  ExpectRestores(repo_.get(), half->snapshot_id, "mixed");
}

TEST_F(PruneTest, OrphanPacksOfAKilledWriterAreReclaimed) {
  Id keep = Snap(repo_.get(), "keep", 5, 1);
  {
    // A writer whose index file never gets written: its packs are orphans.
    auto backend = OpenLocalBackend(tmp_ / "repo", false);
    FaultPlan plan;
    plan.fail_put_after = 0;
    plan.fail_put_any_type = false;
    plan.fail_put_type = ObjectType::kIndex;
    auto faulty = std::make_unique<FaultyBackend>(backend->get(), plan);
    auto killed = Repository::Open(std::move(faulty), "pw", OpenOptions{tmp_ / "cache-killed"});
    ASSERT_TRUE(killed.ok());
    for (int i = 0; i < 10; ++i) WriteFile(tmp_ / ("src/lost/f" + std::to_string(i)), RandomData(50000, 900 + i));
    EXPECT_FALSE(BackupPaths(killed->get(), {tmp_ / "src/lost"}, BackupOptions{}, nullptr).ok());
  }
  PruneOptions dry;
  dry.dry_run = true;
  auto plan = Prune(repo_.get(), dry, nullptr);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_GT(plan->orphan_packs, 0u);
  PruneOptions o;
  o.no_other_writers = true;
  auto r = Prune(repo_.get(), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->deleted_packs, plan->orphan_packs);
  ExpectScrubClean(repo_.get(), false);
  ExpectRestores(repo_.get(), keep, "keep");
}

TEST_F(PruneTest, RefusesWhenASnapshotCannotBeRead) {
  Snap(repo_.get(), "a", 3, 1);
  ASSERT_TRUE(repo_->backend()->Put({ObjectType::kSnapshot, std::string(64, 'a')}, Bytes{1, 2, 3}).ok());
  PruneOptions o;
  o.no_other_writers = true;
  auto r = Prune(repo_.get(), o, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

TEST(PruneRecord, RoundTripsAndRejectsHostileInput) {
  PruneRecord rec;
  rec.mark_time_ns = 1'700'000'000'000'000'000;
  rec.grace_ns = 48 * kHour;
  rec.packs.push_back({Id{}, 123});
  auto back = DecodePruneRecord(EncodePruneRecord(rec));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mark_time_ns, rec.mark_time_ns);
  EXPECT_EQ(back->grace_ns, rec.grace_ns);
  ASSERT_EQ(back->packs.size(), 1u);
  EXPECT_EQ(back->packs[0].size, 123u);
  Bytes hostile = {kPruneRecordVersion, 2, 2, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(DecodePruneRecord(hostile).ok());
  Bytes truncated = EncodePruneRecord(rec);
  truncated.pop_back();
  EXPECT_FALSE(DecodePruneRecord(truncated).ok());

  SweepMarker m{rec.mark_time_ns, rec.mark_time_ns + 5};
  auto parsed = ParseSweepMarkerName(SweepMarkerName(m));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->mark_time_ns, m.mark_time_ns);
  EXPECT_EQ(parsed->sweep_time_ns, m.sweep_time_ns);
  EXPECT_FALSE(ParseSweepMarkerName("xyz").ok());
}

}  // namespace
}  // namespace cairn
