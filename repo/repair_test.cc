#include "repo/repair.h"

#include <gtest/gtest.h>

#include "repo/backup.h"
#include "repo/prune.h"
#include "repo/restore.h"
#include "repo/scrub.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::RandomData;
using testing::TempDir;

class RepairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = OpenLocalBackend(tmp_ / "repo", true);
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", testing::TestInitOptions()).ok());
    Reopen();
    testing::WriteFile(tmp_ / "src/app/a.bin", RandomData(3 << 20, 1));
    testing::WriteFile(tmp_ / "src/app/b.txt", AsBytes("hello"));
    first_ = Backup();
  }
  void Reopen() {
    repo_.reset();
    auto backend = std::move(OpenLocalBackend(tmp_ / "repo", false)).value();
    repo_ = std::move(Repository::Open(std::move(backend), "pw", OpenOptions{tmp_ / "cache"})).value();
  }
  Snapshot Backup() {
    auto r = BackupPaths(repo_.get(), {tmp_ / "src/app"}, BackupOptions{}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->snapshot : Snapshot{};
  }
  // Flips a byte in the middle of the largest pack (data blobs of a.bin).
  fs::path DamageLargestPack() {
    fs::path victim = testing::LargestPack(tmp_ / "repo");
    testing::FlipMiddleByte(victim);
    return victim;
  }
  ScrubReport ScrubAll() {
    ScrubOptions o;
    o.read_data = true;
    auto r = Scrub(repo_.get(), o, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ScrubReport{};
  }
  // After a repair, a scrub finds no damaged or missing pack: only the blobs the marked
  // snapshots lost.
  static void ExpectOnlyLostBlobs(const ScrubReport& s) {
    for (const Finding& f : s.findings)
      if (f.damage && f.object.rfind("pack ", 0) == 0) ADD_FAILURE() << f.object << ": " << f.problem;
  }
  RepairReport RunRepair(bool read_data = false, bool dry_run = false) {
    RepairOptions o;
    o.read_data = read_data;
    o.dry_run = dry_run;
    auto r = Repair(repo_.get(), o, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RepairReport{};
  }
  RestoreResult RestoreFirst(const std::string& target, Status* status) {
    RestoreOptions o;
    o.target = target;
    auto r = RestoreToDir(repo_.get(), first_, o, nullptr);
    *status = r.status();
    return r.ok() ? *r : RestoreResult{};
  }
  std::string RepoFingerprint() {
    std::string all;
    for (auto it = fs::recursive_directory_iterator(tmp_ / "repo"); it != fs::recursive_directory_iterator(); ++it)
      if (it->is_regular_file()) {
        Bytes b = testing::ReadFile(it->path().string());
        all += it->path().string() + " " + Sha256(b).Hex() + "\n";
      }
    return all;
  }

  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
  Snapshot first_;
};

TEST_F(RepairTest, CleanRepositoryIsLeftAlone) {
  std::string before = RepoFingerprint();
  RepairReport r = RunRepair(true);
  EXPECT_TRUE(r.clean());
  EXPECT_GT(r.packs_checked, 0u);
  EXPECT_EQ(r.packs_damaged + r.packs_missing + r.blobs_lost, 0u);
  EXPECT_EQ(r.record, "");
  EXPECT_EQ(RepoFingerprint(), before);
}

TEST_F(RepairTest, DamagedBlobIsDroppedIntactOnesSalvagedSnapshotMarkedThenHealedByTheNextBackup) {
  fs::path victim = DamageLargestPack();
  // Without --read-data repair knows only what scrubs found: nothing yet.
  EXPECT_EQ(RunRepair().packs_checked, 0u);
  EXPECT_TRUE(ScrubAll().damaged());

  RepairReport r = RunRepair();  // the scrub state names the damaged pack
  EXPECT_EQ(r.packs_checked, 1u);
  EXPECT_EQ(r.packs_damaged, 1u);
  EXPECT_EQ(r.blobs_lost, 1u);
  EXPECT_GT(r.blobs_salvaged, 0u);
  ASSERT_EQ(r.damaged_snapshots.size(), 1u);
  EXPECT_EQ(r.damaged_snapshots[0].damaged_files, 1u);
  ASSERT_EQ(r.damaged_snapshots[0].files.size(), 1u);
  EXPECT_NE(r.damaged_snapshots[0].files[0].find("a.bin"), std::string::npos);
  EXPECT_FALSE(r.record.empty());
  EXPECT_TRUE(fs::exists(victim)) << "damaged packs are quarantined, not deleted by repair";

  // The repository is consistent: a full scrub finds no damaged pack, only the quarantined one,
  // and still says (exit 13) that the snapshot cannot be restored whole.
  ScrubReport s = ScrubAll();
  EXPECT_TRUE(s.damaged());
  bool noticed = false;
  for (const Finding& f : s.findings) {
    noticed |= f.problem.find("quarantined") != std::string::npos;
    if (f.damage && f.object.rfind("pack ", 0) == 0) ADD_FAILURE() << f.object << ": " << f.problem;
  }
  EXPECT_TRUE(noticed);
  // The mark is visible to every client.
  auto marked = MarkedDamagedSnapshots(repo_.get(), nullptr);
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(marked->size(), 1u);

  // Restoring the damaged snapshot restores what is intact and reports the rest.
  Status st;
  RestoreResult restored = RestoreFirst(tmp_ / "out1", &st);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(restored.damaged, 1u);
  EXPECT_EQ(AsString(testing::ReadFile(tmp_ / "out1/app/b.txt")), "hello");

  // The same data backed up again stores the lost blob again (the unchanged file is re-read,
  // since one of its blobs is gone), and the old snapshot is whole.
  Backup();
  RepairReport again = RunRepair();
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(again.healed_snapshots, 1u);
  marked = MarkedDamagedSnapshots(repo_.get(), nullptr);
  ASSERT_TRUE(marked.ok());
  EXPECT_TRUE(marked->empty());
  restored = RestoreFirst(tmp_ / "out2", &st);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(restored.damaged, 0u);
  EXPECT_FALSE(ScrubAll().damaged());
  EXPECT_EQ(testing::ReadFile(tmp_ / "out2/app/a.bin"), testing::ReadFile(tmp_ / "src/app/a.bin"));

  // Prune deletes the quarantined pack instead of indexing its damaged blob again.
  PruneOptions po;
  po.no_other_writers = true;
  auto p = Prune(repo_.get(), po, nullptr);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(fs::exists(victim)) << p->orphan_packs << " orphans, " << p->deleted_packs << " deleted, "
                                   << p->reindexed_packs << " reindexed, " << p->marked_packs << " marked";
  s = ScrubAll();
  EXPECT_FALSE(s.damaged());
  EXPECT_TRUE(s.findings.empty()) << s.findings[0].object << ": " << s.findings[0].problem;
}

TEST_F(RepairTest, QuarantinedPackStaysOutOfARebuildFromPacks) {
  DamageLargestPack();
  RepairReport r = RunRepair(true);
  EXPECT_EQ(r.packs_damaged, 1u);
  auto rebuilt = repo_->RebuildIndex(true);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(rebuilt->index_files_written, 0u);
  Reopen();
  ExpectOnlyLostBlobs(ScrubAll());
}

TEST_F(RepairTest, MissingPackIsTakenOutAndTheAffectedFilesNamed) {
  fs::path victim = DamageLargestPack();
  fs::remove(victim);
  RepairReport r = RunRepair();  // structure alone sees a missing pack
  EXPECT_EQ(r.packs_missing, 1u);
  EXPECT_EQ(r.packs_damaged, 0u);
  EXPECT_GT(r.blobs_lost, 0u);
  ASSERT_EQ(r.damaged_snapshots.size(), 1u);
  ExpectOnlyLostBlobs(ScrubAll());
  // Running it again changes nothing.
  std::string before = RepoFingerprint();
  RepairReport again = RunRepair();
  EXPECT_EQ(again.record, "");
  EXPECT_EQ(again.damaged_snapshots.size(), 1u);
  EXPECT_EQ(RepoFingerprint(), before);
}

TEST_F(RepairTest, DryRunChangesNothingButReportsTheSame) {
  DamageLargestPack();
  std::string before = RepoFingerprint();
  RepairReport dry = RunRepair(true, true);
  EXPECT_EQ(RepoFingerprint(), before);
  EXPECT_EQ(dry.packs_damaged, 1u);
  EXPECT_EQ(dry.blobs_lost, 1u);
  EXPECT_EQ(dry.damaged_snapshots.size(), 1u);
  EXPECT_EQ(dry.record, "");
  RepairReport real = RunRepair(true);
  EXPECT_EQ(real.blobs_salvaged, dry.blobs_salvaged);
  EXPECT_EQ(real.blobs_lost, dry.blobs_lost);
}

TEST(RepairRecord, RoundTripsAndRejectsMalformedInput) {
  RepairRecord r;
  r.time_ns = 1234567;
  r.quarantined.push_back({Sha256(AsBytes("p")), 4096});
  DamagedSnapshot d;
  d.id = Sha256(AsBytes("s"));
  d.missing_blobs = 3;
  d.damaged_files = 2;
  d.files = {"etc/a", "var/lib/b"};
  r.damaged.push_back(d);
  Bytes enc = EncodeRepairRecord(r);
  auto back = DecodeRepairRecord(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->time_ns, r.time_ns);
  ASSERT_EQ(back->quarantined.size(), 1u);
  EXPECT_EQ(back->quarantined[0].id, r.quarantined[0].id);
  ASSERT_EQ(back->damaged.size(), 1u);
  EXPECT_EQ(back->damaged[0].files, d.files);
  EXPECT_EQ(back->damaged[0].missing_blobs, 3u);

  for (size_t cut = 0; cut < enc.size(); ++cut)
    EXPECT_FALSE(DecodeRepairRecord(ByteView(enc.data(), cut)).ok()) << cut;
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_EQ(DecodeRepairRecord(trailing).status().code(), Code::kCorruption);
  Bytes version = enc;
  version[0] = 9;
  EXPECT_EQ(DecodeRepairRecord(version).status().code(), Code::kCorruption);
  Bytes huge = {kRepairRecordVersion, 2, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_EQ(DecodeRepairRecord(huge).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cairn
