// A full disk during a snapshot, simulated by failing the Nth backend write with ENOSPC, for every
// N a snapshot makes: the error is kNoSpace (exit 15) and says so, no snapshot is written, the
// repository still scrubs clean (unindexed packs are notices), an earlier snapshot restores
// identical, and once space is back the same snapshot succeeds. tests/cli/full_disk.sh does the
// same on a real full filesystem.
#include <gtest/gtest.h>

#include "repo/backup.h"
#include "repo/repository.h"
#include "repo/restore.h"
#include "repo/scrub.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

using testing::RandomData;
using testing::TempDir;

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(testing::MakeTestRepo(tmp_.path()), nullptr);
    // A tree with several files, so a snapshot writes several data packs, a tree pack, index
    // files and the snapshot object.
    for (int i = 0; i < 4; ++i)
      testing::WriteFile(tmp_ / ("src/f" + std::to_string(i)), RandomData(700 << 10, 10 + i));
    testing::WriteFile(tmp_ / "src/sub/small.txt", AsBytes(std::string_view("small\n")));
  }

  // Opens the repository through a backend that fails writes as `plan` says.
  std::unique_ptr<Repository> Open(const FaultPlan* plan) {
    auto base = OpenLocalBackend(tmp_ / "repo", false);
    EXPECT_TRUE(base.ok());
    if (!base.ok()) return nullptr;
    std::unique_ptr<Backend> backend = std::move(base).value();
    if (plan) {
      bases_.push_back(std::move(backend));
      backend = std::make_unique<FaultyBackend>(bases_.back().get(), *plan);
    }
    auto repo = Repository::Open(std::move(backend), "pw", OpenOptions{tmp_ / "cache"});
    EXPECT_TRUE(repo.ok()) << repo.status().ToString();
    return repo.ok() ? std::move(repo).value() : nullptr;
  }

  Result<BackupResult> Backup(Repository* repo, const std::string& dir) {
    BackupOptions o;
    o.force = true;  // read every file: the parent must not make later runs write nothing
    return BackupPaths(repo, {tmp_ / dir}, o, nullptr);
  }

  size_t SnapshotCount() {
    auto repo = Open(nullptr);
    auto all = repo->ListSnapshots();
    EXPECT_TRUE(all.ok());
    return all.ok() ? all->size() : 0;
  }

  // Scrubs with --read-data on a fresh open; returns the damage findings, joined.
  std::string Damage() {
    auto repo = Open(nullptr);
    ScrubOptions o;
    o.read_data = true;
    auto r = Scrub(repo.get(), o, nullptr);
    if (!r.ok()) return "scrub failed: " + r.status().ToString();
    std::string out;
    for (const Finding& f : r->findings)
      if (f.damage) out += f.object + ": " + f.problem + "\n";
    return out;
  }

  void ExpectRestoresIdentical(const Snapshot& snap, const std::string& source_dir) {
    auto repo = Open(nullptr);
    std::string target = tmp_ / ("out-" + std::to_string(++restores_));
    RestoreOptions o;
    o.target = target;
    auto r = RestoreToDir(repo.get(), snap, o, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->damaged + r->failed, 0u);
    EXPECT_EQ(testing::Describe(target + "/" + source_dir), testing::Describe(tmp_ / source_dir));
  }

  TempDir tmp_;
  std::vector<std::unique_ptr<Backend>> bases_;
  int restores_ = 0;
};

TEST_F(FullDiskTest, NoSpaceAtEveryWriteOfASnapshot) {
  auto repo = Open(nullptr);
  auto first = Backup(repo.get(), "src");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  repo.reset();

  // Count the writes a second snapshot of new data makes.
  for (int i = 0; i < 3; ++i)
    testing::WriteFile(tmp_ / ("src2/g" + std::to_string(i)), RandomData(900 << 10, 50 + i));
  int writes = 0;
  {
    TempDir probe_dir;
    std::filesystem::copy(tmp_.path(), probe_dir.path(), std::filesystem::copy_options::recursive);
    auto base = OpenLocalBackend(probe_dir / "repo", false);
    ASSERT_TRUE(base.ok());
    auto counting = std::make_unique<FaultyBackend>(base->get(), FaultPlan{});
    const FaultyBackend* counter = counting.get();
    auto probe = Repository::Open(std::move(counting), "pw", OpenOptions{probe_dir / "cache"});
    ASSERT_TRUE(probe.ok());
    ASSERT_TRUE(BackupPaths(probe->get(), {tmp_ / "src2"}, BackupOptions{}, nullptr).ok());
    writes = counter->puts_seen();
  }
  ASSERT_GE(writes, 4) << "data packs, a tree pack, an index file and the snapshot";

  for (int n = 0; n < writes; ++n) {
    SCOPED_TRACE("ENOSPC at write " + std::to_string(n) + " of " + std::to_string(writes));
    FaultPlan plan;
    plan.fail_put_after = n;
    plan.fail_code = Code::kNoSpace;
    auto faulty = Open(&plan);
    ASSERT_NE(faulty, nullptr);
    auto r = Backup(faulty.get(), "src2");
    faulty.reset();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kNoSpace) << r.status().ToString();
    // The backend's own words (here the injected fault's) reach the user.
    EXPECT_NE(r.status().message().find("injected fault: put"), std::string::npos)
        << r.status().ToString();
    EXPECT_EQ(SnapshotCount(), 1u);
    EXPECT_EQ(Damage(), "");
    ExpectRestoresIdentical(first->snapshot, "src");
  }

  // Space is back: the same snapshot succeeds, restores identical, and the repository is clean.
  repo = Open(nullptr);
  auto second = Backup(repo.get(), "src2");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  repo.reset();
  EXPECT_EQ(SnapshotCount(), 2u);
  EXPECT_EQ(Damage(), "");
  ExpectRestoresIdentical(second->snapshot, "src2");
  ExpectRestoresIdentical(first->snapshot, "src");
}

TEST_F(FullDiskTest, NoSpaceOnlyForTheSnapshotObject) {
  // Everything but the last, small write fits: still no snapshot, and nothing damaged.
  FaultPlan plan;
  plan.fail_put_after = 0;
  plan.fail_put_any_type = false;
  plan.fail_put_type = ObjectType::kSnapshot;
  plan.fail_code = Code::kNoSpace;
  auto repo = Open(&plan);
  auto r = Backup(repo.get(), "src");
  repo.reset();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNoSpace);
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_EQ(Damage(), "");
  repo = Open(nullptr);
  auto again = Backup(repo.get(), "src");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  repo.reset();
  ExpectRestoresIdentical(again->snapshot, "src");
}

}  // namespace
}  // namespace cairn
