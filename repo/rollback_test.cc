// In-place restore and rollback (issue 9): what matches is not touched, changed files are
// rebuilt from their own chunks plus only the missing blobs, type changes, --delete, dry runs,
// the pre-rollback snapshot, --verify. The traps (symlinks, hard links, hostile names, entries
// changed under the rollback) are in rollback_safety_test.cc.
#include "repo/inplace.h"
#include "repo/rollback_test_util.h"

namespace cairn {
namespace {

using namespace rollback_testing;  // NOLINT: the shared fixture and its helpers

TEST_F(RollbackTest, IdenticalTreeIsNotTouched) {
  MakeApp();
  auto snap = SnapshotApp();
  auto before = DescribeWithInodes(app_);
  struct stat dir_before = Lstat(app_ + "/conf");
  RollbackResult r = Roll(snap, Options(true, true));
  EXPECT_EQ(DescribeWithInodes(app_), before);
  EXPECT_EQ(Lstat(app_ + "/conf").st_ctim.tv_nsec, dir_before.st_ctim.tv_nsec);
  EXPECT_FALSE(r.applied.changed());
  EXPECT_EQ(r.applied.unchanged, 6u);  // five files and the symlink
  EXPECT_EQ(r.applied.bytes_fetched, 0u);
  EXPECT_FALSE(r.undo_snapshot) << "no pre-rollback snapshot when nothing changes";
}

TEST_F(RollbackTest, ModifiedAddedDeletedAndMetadataOnly) {
  MakeApp();
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  struct stat util_before = Lstat(app_ + "/lib/util.so");
  // A few bytes in the middle of the big file, a new file, a removed file, a chmod.
  Bytes big = ReadFile(app_ + "/big.bin");
  big[500000] ^= 0xff;
  big[500001] ^= 0xff;
  WriteFile(app_ + "/big.bin", big);
  WriteFile(app_ + "/conf/extra.yaml", AsBytes("debug: true\n"));
  fs::remove(app_ + "/src/main.c");
  chmod((app_ + "/bin/run").c_str(), 0700);
  chmod((app_ + "/conf").c_str(), 0700);  // a folder's mode, beside its re-timing
  struct stat big_before = Lstat(app_ + "/big.bin");
  Node big_node = FindNode(repo_.get(), snap.second.tree, "big.bin").value();
  uint64_t missing = MissingStoredBytes(app_ + "/big.bin", big_node);
  Node main_node = FindNode(repo_.get(), snap.second.tree, "src/main.c").value();
  missing += MissingStoredBytes(app_ + "/src/main.c", main_node);
  ASSERT_GT(missing, 0u);

  RollbackResult r = Roll(snap, Options(true));
  EXPECT_EQ(Describe(app_), want);
  EXPECT_EQ(r.applied.files, 2u);  // big.bin rewritten, main.c created
  EXPECT_EQ(r.applied.deleted, 1u);
  EXPECT_GE(r.applied.metadata, 1u);  // bin/run's mode (folders whose entries changed count too)
  // Only the differing chunks come from the repository; the rest of big.bin from itself.
  EXPECT_GE(r.applied.bytes_fetched, missing);
  EXPECT_LE(r.applied.bytes_fetched, 2 * missing);
  EXPECT_GT(r.applied.bytes_reused, (1u << 20) - 100000);
  // The rewritten file is a new inode (written beside and renamed); untouched ones keep theirs.
  EXPECT_NE(Lstat(app_ + "/big.bin").st_ino, big_before.st_ino);
  struct stat util_after = Lstat(app_ + "/lib/util.so");
  EXPECT_EQ(util_after.st_ino, util_before.st_ino);
  EXPECT_EQ(util_after.st_ctim.tv_sec, util_before.st_ctim.tv_sec);
  EXPECT_EQ(util_after.st_ctim.tv_nsec, util_before.st_ctim.tv_nsec);
}

// Descriptors this process holds on files since deleted, below `root`.
std::vector<std::string> OpenDeletedFilesUnder(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    std::string target = fs::read_symlink(e.path(), ec).string();
    if (!ec && target.rfind(root, 0) == 0 && target.find(" (deleted)") != std::string::npos)
      out.push_back(target);
  }
  return out;
}

// The files replaced or deleted are freed: by the restore itself, or (as the CLI does) by a
// CloseBehind once it is gone, and either way the rollback is complete when RollBack returns.
TEST_F(RollbackTest, ReplacedAndDeletedFilesAreFreedByTheEnd) {
  for (bool behind : {false, true}) {
    SCOPED_TRACE(behind ? "CloseBehind" : "inline");
    MakeApp();
    auto snap = SnapshotApp();
    auto want = Describe(app_);
    WriteFile(app_ + "/lib/util.so", RandomData(200000, 3));
    WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\n"));
    WriteFile(app_ + "/conf/extra.bin", RandomData(100000, 4));
    WriteFile(app_ + "/cache/a/b.bin", RandomData(100000, 5));
    {
      CloseBehind closer;
      // No pre-rollback snapshot: a folder created a moment before one would be left alone.
      RollbackOptions o = Options(true, false);
      if (behind) o.restore.close_behind = &closer;
      RollbackResult r = Roll(snap, o);
      EXPECT_EQ(r.applied.files, 2u);
      EXPECT_EQ(r.applied.deleted, 4u);  // extra.bin, and cache with its folder and file
      EXPECT_EQ(Describe(app_), want);
      if (!behind) {
        EXPECT_EQ(OpenDeletedFilesUnder(app_), std::vector<std::string>{});
      }
    }
    EXPECT_EQ(OpenDeletedFilesUnder(app_), std::vector<std::string>{});
    fs::remove_all(app_);
  }
}

TEST_F(RollbackTest, WithoutDeleteExtraEntriesStay) {
  MakeApp();
  auto snap = SnapshotApp();
  WriteFile(app_ + "/new.txt", AsBytes("keep me"));
  RollbackResult r = Roll(snap, Options(false));
  EXPECT_TRUE(fs::exists(app_ + "/new.txt"));
  EXPECT_EQ(r.applied.deleted, 0u);
}

TEST_F(RollbackTest, TypeChangesBothWays) {
  WriteFile(app_ + "/was_dir/inner", AsBytes("inner"));
  WriteFile(app_ + "/was_file", AsBytes("file"));
  fs::create_symlink("was_file", app_ + "/was_link");
  WriteFile(app_ + "/file_then_link", AsBytes("f"));
  fs::create_symlink("somewhere", app_ + "/link_then_file");
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  // Now every entry changes type.
  fs::remove_all(app_ + "/was_dir");
  WriteFile(app_ + "/was_dir", AsBytes("a file now"));
  fs::remove(app_ + "/was_file");
  WriteFile(app_ + "/was_file/sub/x", AsBytes("a folder now"));
  fs::remove(app_ + "/was_link");
  WriteFile(app_ + "/was_link/y", AsBytes("a folder now"));
  fs::remove(app_ + "/file_then_link");
  fs::create_symlink("elsewhere", app_ + "/file_then_link");
  fs::remove(app_ + "/link_then_file");
  WriteFile(app_ + "/link_then_file", AsBytes("a file now"));

  // Without --delete, folders standing where the snapshot has a file or link are conflicts.
  CollectingReporter rep;
  RollbackResult r = Roll(snap, Options(false), &rep);
  EXPECT_EQ(r.applied.conflicts, 2u);
  EXPECT_TRUE(fs::exists(app_ + "/was_file/sub/x"));
  EXPECT_TRUE(fs::is_directory(app_ + "/was_dir"));  // file -> folder needs no --delete
  EXPECT_EQ(ReadFile(app_ + "/was_dir/inner"), Bytes({'i', 'n', 'n', 'e', 'r'}));

  r = Roll(snap, Options(true));
  EXPECT_EQ(r.applied.conflicts, 0u);
  EXPECT_EQ(Describe(app_), want);
}

TEST_F(RollbackTest, DryRunChangesNothingAndPlans) {
  MakeApp();
  auto snap = SnapshotApp();
  Bytes big = ReadFile(app_ + "/big.bin");
  big[10] ^= 1;
  WriteFile(app_ + "/big.bin", big);
  WriteFile(app_ + "/junk/a", RandomData(5000, 3));
  fs::remove(app_ + "/conf/app.yaml");
  fs::remove(app_ + "/current");
  fs::create_symlink("/etc", app_ + "/current");
  auto before = DescribeWithInodes(app_);
  RollbackOptions o = Options(true, true);
  o.restore.dry_run = true;
  RollbackResult r = Roll(snap, o);
  EXPECT_EQ(DescribeWithInodes(app_), before);
  EXPECT_FALSE(r.undo_snapshot);
  EXPECT_EQ(r.applied.files, 2u);  // big.bin, conf/app.yaml
  EXPECT_EQ(r.applied.symlinks, 1u);
  EXPECT_EQ(r.applied.deleted, 2u);  // junk and junk/a
  EXPECT_EQ(r.applied.deleted_bytes, 5000u);
  EXPECT_GT(r.applied.bytes_fetched, 0u);
  EXPECT_GT(r.applied.bytes_reused, 900000u);
  std::set<std::string> planned;
  for (const PlannedChange& c : r.applied.changes) planned.insert(c.action + " " + c.path);
  EXPECT_TRUE(planned.count("write big.bin"));
  EXPECT_TRUE(planned.count("create conf/app.yaml"));
  EXPECT_TRUE(planned.count("replace current"));
  EXPECT_TRUE(planned.count("delete junk"));
  // The dry run's plan is what the real run does.
  RollbackResult real = Roll(snap, Options(true));
  EXPECT_EQ(real.applied.files, r.applied.files);
  EXPECT_EQ(real.applied.deleted, r.applied.deleted);
  EXPECT_EQ(real.applied.bytes_reused, r.applied.bytes_reused);
}

TEST_F(RollbackTest, PreRollbackSnapshotRestoresTheBrokenStateByteForByte) {
  MakeApp();
  auto snap = SnapshotApp();
  auto good = Describe(app_);
  // The bad change.
  Bytes big = ReadFile(app_ + "/big.bin");
  for (size_t i = 0; i < 100; ++i) big[i * 9000] ^= 0x5a;
  WriteFile(app_ + "/big.bin", big);
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: broken\n"));
  WriteFile(app_ + "/migrations/0042.sql", RandomData(30000, 4));
  fs::remove_all(app_ + "/src");
  fs::remove(app_ + "/current");
  fs::create_symlink("nowhere", app_ + "/current");
  auto broken = Describe(app_);

  RollbackResult r = Roll(snap, Options(true, true));
  ASSERT_TRUE(r.undo_snapshot);
  EXPECT_EQ(r.undo_root, "app");
  EXPECT_EQ(Describe(app_), good);
  auto undo = repo_->FindSnapshot(r.undo_snapshot->Hex());
  ASSERT_TRUE(undo.ok());
  EXPECT_EQ(undo->snapshot.tags, PreRollbackTags(snap.first));
  EXPECT_EQ(undo->snapshot.tags[1], "rollback-to:" + snap.first.ShortHex());

  // Undo the rollback the same way: the broken state comes back, byte for byte.
  RollbackResult back = Roll({*r.undo_snapshot, Subtree(undo->snapshot, "app")}, Options(true, true));
  EXPECT_EQ(Describe(app_), broken);
  EXPECT_TRUE(back.undo_snapshot) << "undoing is a rollback too, and keeps what it replaces";
}

// The pre-rollback snapshot has just read the changed files: the restore compares them by the
// ids it found instead of reading them again, and still rebuilds them from their own chunks.
TEST_F(RollbackTest, RestoreUsesWhatThePreRollbackSnapshotRead) {
  MakeApp();
  auto snap = SnapshotApp();
  auto good = Describe(app_);
  Bytes big = ReadFile(app_ + "/big.bin");
  big[700000] ^= 0x01;
  WriteFile(app_ + "/big.bin", big);
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 4\n"));

  KnownLiveTree known;
  BackupOptions backup;
  backup.record_live_tree = &known;
  ASSERT_TRUE(BackupPaths(repo_.get(), {app_}, backup, nullptr).ok());
  EXPECT_EQ(known.files(), 5u) << "every regular file, read or taken over from the parent";
  const std::vector<Id>* ids = known.FindFile(Lstat(app_ + "/big.bin"));
  ASSERT_NE(ids, nullptr);
  int fd = open((app_ + "/big.bin").c_str(), O_RDONLY);
  auto chunks = ChunkLocalFile(*repo_, fd);
  close(fd);
  ASSERT_TRUE(chunks.ok());
  ASSERT_EQ(ids->size(), chunks->size());
  for (size_t i = 0; i < ids->size(); ++i) EXPECT_EQ((*ids)[i], (*chunks)[i].id);

  RestoreOptions o = Options(true).restore;
  o.known_live_tree = &known;
  auto r = RestoreToDir(repo_.get(), snap.second, o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Describe(app_), good);
  EXPECT_EQ(r->files, 2u);
  EXPECT_GT(r->bytes_reused, (1u << 20) - 300000) << "big.bin is rebuilt mostly from itself";
}

// A file changed after the pre-rollback snapshot read it (its ctime moved) is not compared by
// what the snapshot saw: it is read again, and rolled back like any other.
TEST_F(RollbackTest, FileChangedAfterThePreRollbackSnapshotIsReadAgain) {
  MakeApp();
  auto snap = SnapshotApp();
  auto good = Describe(app_);
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 4\n"));
  KnownLiveTree known;
  BackupOptions backup;
  backup.record_live_tree = &known;
  ASSERT_TRUE(BackupPaths(repo_.get(), {app_}, backup, nullptr).ok());
  struct stat seen = Lstat(app_ + "/lib/util.so");
  ASSERT_NE(known.FindFile(seen), nullptr);
  // Same size, same mtime, other content: only the ctime tells.
  Bytes util = ReadFile(app_ + "/lib/util.so");
  util[1000] ^= 0xff;
  WriteFile(app_ + "/lib/util.so", util);
  struct timespec times[2] = {seen.st_mtim, seen.st_mtim};
  utimensat(AT_FDCWD, (app_ + "/lib/util.so").c_str(), times, 0);
  EXPECT_EQ(known.FindFile(Lstat(app_ + "/lib/util.so")), nullptr);
  // lib/ changes too, so its recorded listing is not current and the restore lists it afresh
  // (EntryChangedAfterThePreRollbackSnapshotIsNeitherReplacedNorDeleted covers the other case).
  WriteFile(app_ + "/lib/.tmp", AsBytes("x"));
  fs::remove(app_ + "/lib/.tmp");

  RestoreOptions o = Options(true).restore;
  o.known_live_tree = &known;
  auto r = RestoreToDir(repo_.get(), snap.second, o, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Describe(app_), good);
  EXPECT_EQ(r->files, 2u) << "app.yaml and util.so";
}

TEST_F(RollbackTest, SameSizeAndMtimeButOtherContentIsFound) {
  MakeApp();
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  // A change that keeps size and mtime (as `cp -p` of a wrong version can).
  struct stat st = Lstat(app_ + "/conf/app.yaml");
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 4\n"));
  struct timespec ts[2] = {st.st_mtim, st.st_mtim};
  utimensat(AT_FDCWD, (app_ + "/conf/app.yaml").c_str(), ts, 0);
  // --quick trusts size and mtime and misses it, by design.
  RollbackOptions quick = Options(true);
  quick.restore.quick = true;
  quick.restore.dry_run = true;
  EXPECT_EQ(Roll(snap, quick).applied.files, 0u);
  // The default compares content, also across the dry run + undo snapshot + apply passes.
  RollbackResult r = Roll(snap, Options(true, true));
  EXPECT_EQ(r.applied.files, 1u);
  EXPECT_EQ(Describe(app_), want);
}

// The dry run only decides whether a pre-rollback snapshot is needed: it stops at the first
// difference, and the restore that follows compares (and rolls back) everything.
TEST_F(RollbackTest, DryRunStopsAtTheFirstDifferenceTheRestoreDoesTheRest) {
  MakeApp();
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 8\n"));
  WriteFile(app_ + "/src/main.c", AsBytes("int main() { return 1; }\n"));
  WriteFile(app_ + "/src/extra.c", AsBytes("/* added */\n"));
  // Past the clock tick of the change: an entry stamped in the tick the pre-rollback snapshot
  // began in may have been written after it, and --delete leaves it.
  usleep(30000);
  RollbackResult r = Roll(snap, Options(true, true));
  ASSERT_TRUE(r.undo_snapshot);
  EXPECT_EQ(r.plan.files + r.plan.metadata + r.plan.deleted, 1u) << "the dry run stopped at its first difference";
  EXPECT_EQ(r.plan.compared, 0u) << "a file whose mtime differs is a difference without reading it";
  EXPECT_EQ(r.applied.files, 2u);
  EXPECT_EQ(r.applied.deleted, 1u);
  EXPECT_EQ(Describe(app_), want);

  // Nothing differs: the dry run compares everything, and no pre-rollback snapshot is taken.
  RollbackResult again = Roll(snap, Options(true, true));
  EXPECT_FALSE(again.undo_snapshot);
  EXPECT_FALSE(again.applied.changed());
  EXPECT_EQ(again.applied.unchanged, 6u);  // five files and the symlink
}

TEST_F(RollbackTest, FilesUntouchedSinceTheSnapshotAreNotReadUnlessChecksum) {
  MakeApp();
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 8\n"));
  RollbackResult r = Roll(snap, Options(true, true));
  EXPECT_EQ(r.plan.compared + r.applied.compared, 1u) << "only the file changed since the snapshot is read";
  EXPECT_EQ(r.applied.files, 1u);
  EXPECT_EQ(Describe(app_), want);

  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 8\n"));
  RollbackOptions o = Options(true);
  o.restore.checksum = true;
  r = Roll(snap, o);
  EXPECT_EQ(r.applied.compared, 5u) << "--checksum reads every file";
  EXPECT_EQ(r.applied.files, 1u);
  EXPECT_EQ(Describe(app_), want);
}




TEST_F(RollbackTest, LeftoverTemporaryFilesAreRemoved) {
  MakeApp();
  auto snap = SnapshotApp();
  std::string stale = app_ + "/conf/.cairn-tmp-0123456789abcdef";
  WriteFile(stale, AsBytes("half written"));
  WriteFile(app_ + "/conf/.cairn-tmp-mine", AsBytes("not ours: wrong pattern"));
  RollbackResult r = Roll(snap, Options(false));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(app_ + "/conf/.cairn-tmp-mine"));
  EXPECT_EQ(r.applied.stale_temps, 1u);
  EXPECT_TRUE(IsRestoreTempName(".cairn-tmp-0123456789abcdef"));
  EXPECT_FALSE(IsRestoreTempName(".cairn-tmp-0123456789abcde/"));
}

TEST_F(RollbackTest, VerifyReadsBackWhatWasWritten) {
  MakeApp();
  auto snap = SnapshotApp();
  RestoreOptions ro;
  ro.target = tmp_ / "fresh";
  ro.verify = true;
  auto r = RestoreToDir(repo_.get(), snap.second, ro, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->verified, 5u);
  EXPECT_EQ(r->verify_mismatches, 0u);
  EXPECT_GT(r->bytes_fetched, 0u);
  // In place, only the rewritten file is read back.
  WriteFile(app_ + "/conf/app.yaml", AsBytes("changed"));
  RollbackOptions o = Options(true);
  o.restore.verify = true;
  RollbackResult rr = Roll(snap, o);
  EXPECT_EQ(rr.applied.verified, 1u);
  EXPECT_EQ(rr.applied.verify_mismatches, 0u);
}

TEST_F(RollbackTest, InPlaceRestoreIntoAMissingFolderIsAPlainRestore) {
  MakeApp();
  auto snap = SnapshotApp();
  RollbackOptions o = Options(true, true);
  o.restore.target = tmp_ / "new/app";
  RollbackResult r = Roll(snap, o);
  EXPECT_FALSE(r.undo_snapshot);
  EXPECT_EQ(Describe(tmp_ / "new/app"), Describe(app_));
}







}  // namespace
}  // namespace cairn
