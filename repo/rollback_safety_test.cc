// The traps of rolling back in place (issue 9, "Safety"): a live symlink out of the target is
// never followed, a hard-linked file is never written through, hostile names from the repository
// are refused, and an entry changed under the rollback is neither replaced nor deleted unseen.
#include "repo/inplace.h"
#include "repo/rollback_test_util.h"

namespace cairn {
namespace {

using namespace rollback_testing;  // NOLINT: the shared fixture and its helpers

TEST_F(RollbackTest, LiveSymlinkOutOfTheTargetIsNeverFollowed) {
  WriteFile(app_ + "/conf/app.yaml", AsBytes("good"));
  WriteFile(app_ + "/secret", AsBytes("snapshot secret"));
  WriteFile(app_ + "/data/deep/file", AsBytes("deep"));
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  std::string outside = tmp_ / "etc";
  WriteFile(outside + "/app.yaml", AsBytes("outside"));
  WriteFile(outside + "/passwd", AsBytes("root:x:0:0"));
  chmod((outside + "/passwd").c_str(), 0600);
  auto outside_before = DescribeWithInodes(outside);
  // conf (a folder in the snapshot), secret (a file) and data (a folder above a file) are now
  // symlinks leading out of the target.
  fs::remove_all(app_ + "/conf");
  fs::create_directory_symlink(outside, app_ + "/conf");
  fs::remove(app_ + "/secret");
  fs::create_symlink(outside + "/passwd", app_ + "/secret");
  fs::remove_all(app_ + "/data");
  fs::create_directory_symlink(outside, app_ + "/data");
  RollbackResult r = Roll(snap, Options(true, true));
  EXPECT_EQ(DescribeWithInodes(outside), outside_before);
  EXPECT_EQ(Describe(app_), want);
  EXPECT_FALSE(fs::is_symlink(app_ + "/conf"));
  EXPECT_EQ(r.applied.failed, 0u);
}

TEST_F(RollbackTest, SymlinkWithOnlyMetadataDifferenceIsNotFollowed) {
  WriteFile(app_ + "/f", AsBytes("x"));
  fs::create_symlink("f", app_ + "/l");
  auto snap = SnapshotApp();
  std::string outside = tmp_ / "outside.txt";
  WriteFile(outside, AsBytes("outside"));
  chmod(outside.c_str(), 0600);
  fs::remove(app_ + "/l");
  fs::create_symlink(outside, app_ + "/l");
  struct stat before = Lstat(outside);
  Roll(snap, Options(true));
  struct stat after = Lstat(outside);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(fs::read_symlink(app_ + "/l"), "f");
}

TEST_F(RollbackTest, HardLinkedFileIsNeverWrittenThrough) {
  WriteFile(app_ + "/shared.conf", AsBytes("version one"));
  WriteFile(app_ + "/mode.conf", AsBytes("same content"));
  chmod((app_ + "/mode.conf").c_str(), 0644);
  auto snap = SnapshotApp();
  auto want = Describe(app_);
  // shared.conf's content changes through a hard link from outside the target; mode.conf's
  // mode through another. Restoring the target must not touch the outside names.
  std::string other = tmp_ / "other.conf";
  std::string other_mode = tmp_ / "other-mode.conf";
  ASSERT_EQ(link((app_ + "/shared.conf").c_str(), other.c_str()), 0);
  ASSERT_EQ(link((app_ + "/mode.conf").c_str(), other_mode.c_str()), 0);
  WriteFile(other, AsBytes("version two, changed"));
  chmod(other_mode.c_str(), 0600);
  struct stat other_mode_before = Lstat(other_mode);
  RollbackResult r = Roll(snap, Options(true, true));
  EXPECT_EQ(Describe(app_), want);
  EXPECT_EQ(ReadFile(other), ReadFile(other));
  std::string other_content(reinterpret_cast<const char*>(ReadFile(other).data()), ReadFile(other).size());
  EXPECT_EQ(other_content, "version two, changed");
  struct stat other_mode_after = Lstat(other_mode);
  EXPECT_EQ(other_mode_after.st_mode & 07777, 0600u);
  EXPECT_EQ(other_mode_after.st_mtim.tv_nsec, other_mode_before.st_mtim.tv_nsec);
  EXPECT_EQ(other_mode_after.st_nlink, 1u);  // the target's name was replaced, not changed
}

TEST_F(RollbackTest, HostileNamesAreRefusedInPlace) {
  auto content = repo_->SaveBlob(BlobType::kData, AsBytes("owned"));
  for (std::string name : {std::string(".."), std::string("a/../../x"), std::string(".")}) {
    Tree root;
    Node n;
    n.name = name;
    n.mode = 0644;
    n.content = {content->id};
    n.size = 5;
    root.nodes.push_back(n);
    auto root_id = repo_->SaveBlob(BlobType::kTree, EncodeTree(root));
    ASSERT_TRUE(repo_->Flush().ok());
    Snapshot s;
    s.tree = root_id->id;
    WriteFile(app_ + "/keep", AsBytes("keep"));
    RollbackOptions o = Options(true);
    auto r = RollBack(repo_.get(), s, Id(), o, nullptr);
    EXPECT_TRUE(!r.ok() || r->applied.damaged > 0) << name;
    EXPECT_TRUE(fs::exists(app_ + "/keep")) << "nothing deleted after a hostile tree";
    EXPECT_FALSE(fs::exists(tmp_ / "srv/x"));
  }
}

int64_t Ns(const struct timespec& ts) { return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec; }

int64_t CoarseNowNs() {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return Ns(now);
}

// A folder's recorded listing is handed to the restore once, and only while the folder still
// has the mtime and ctime it had when it was listed; a listing made in the same clock tick as the
// folder's last change is not kept at all (a change right after could leave its times as they were).
TEST(KnownLiveTreeTest, ListingIsHandedOverOnlyWhileTheFolderIsUnchanged) {
  TempDir tmp;
  std::string dir = tmp / "d";
  WriteFile(dir + "/a", AsBytes("a"));
  usleep(30000);  // past the clock tick of the last change
  auto listing_now = [&] {
    KnownLiveTree::Listing l;
    l.emplace("a", Lstat(dir + "/a"));
    return l;
  };
  KnownLiveTree known;
  known.AddListing(Lstat(dir), CoarseNowNs(), listing_now());
  EXPECT_EQ(known.listings(), 1u);
  std::optional<KnownLiveTree::Listing> got = known.TakeListing(Lstat(dir));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->count("a"), 1u);
  EXPECT_FALSE(known.TakeListing(Lstat(dir)).has_value()) << "handed over once";

  known.AddListing(Lstat(dir), CoarseNowNs(), listing_now());
  WriteFile(dir + "/b", AsBytes("b"));
  EXPECT_FALSE(known.TakeListing(Lstat(dir)).has_value()) << "an entry was added since";

  struct stat st = Lstat(dir);
  known.AddListing(st, Ns(st.st_ctim), listing_now());
  EXPECT_EQ(known.listings(), 0u) << "listed in the tick of the last change: not kept";
}

// A name the restore found free is filled only if it is still free: a file created there since
// is not replaced unseen.
TEST(RenameIntoPlaceTest, NameThatAppearedSinceIsLeftAlone) {
  TempDir tmp;
  WriteFile(tmp / "d/.new", AsBytes("restored"));
  WriteFile(tmp / "d/taken", AsBytes("written meanwhile"));
  int dirfd = open((tmp / "d").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dirfd, 0);
  Status s = RenameIntoPlace(dirfd, ".new", "taken", true);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_NE(s.ToString().find("appeared since"), std::string::npos) << s.ToString();
  EXPECT_EQ(AsString(ReadFile(tmp / "d/taken")), "written meanwhile");
  EXPECT_TRUE(RenameIntoPlace(dirfd, ".new", "free", true).ok());
  EXPECT_EQ(AsString(ReadFile(tmp / "d/free")), "restored");
  close(dirfd);
}

// A writer that was not stopped changes entries after the pre-rollback snapshot looked at them.
// The rollback replaces or removes only what it examined, which is what the pre-rollback
// snapshot keeps: a version written since is left as it is and reported, never lost.
TEST_F(RollbackTest, EntryChangedAfterThePreRollbackSnapshotIsNeitherReplacedNorDeleted) {
  MakeApp();
  auto snap = SnapshotApp();
  Bytes big_good = ReadFile(app_ + "/big.bin");
  Bytes big = big_good;
  big[5000] ^= 0x01;
  WriteFile(app_ + "/big.bin", big);
  WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 9090\nworkers: 4\n"));
  WriteFile(app_ + "/src/extra.c", AsBytes("int broken;\n"));
  WriteFile(app_ + "/cache/sub/log", AsBytes("line 1\n"));
  WriteFile(app_ + "/tmp/sub/scratch", AsBytes("x"));
  usleep(30000);  // past the clock tick of the change, so the snapshot's listings are kept
  RollbackOptions o = Options(true, true);
  o.after_undo_snapshot_for_test = [&] {
    // In place (same inode, no folder change): only the entries themselves tell.
    WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 7070\nworkers: 8\n"));
    WriteFile(app_ + "/src/extra.c", AsBytes("int broken;\nint written_later;\n"));
    // Deep in an extra folder: only the file's own ctime tells.
    WriteFile(app_ + "/cache/sub/log", AsBytes("line 1\nline 2\n"));
    // Created since: in no snapshot, so --delete must not remove it (the restore lists the
    // folder afresh, its times having moved, and finds it).
    WriteFile(app_ + "/src/created_later.c", AsBytes("int new_work;\n"));
  };
  CollectingReporter problems;
  RollbackResult r = Roll(snap, o, &problems);
  ASSERT_TRUE(r.undo_snapshot);
  EXPECT_EQ(AsString(ReadFile(app_ + "/conf/app.yaml")), "port: 7070\nworkers: 8\n");
  EXPECT_EQ(AsString(ReadFile(app_ + "/src/extra.c")), "int broken;\nint written_later;\n");
  EXPECT_EQ(AsString(ReadFile(app_ + "/cache/sub/log")), "line 1\nline 2\n");
  EXPECT_EQ(ReadFile(app_ + "/big.bin"), big_good) << "what did not change since is rolled back";
  EXPECT_EQ(AsString(ReadFile(app_ + "/src/created_later.c")), "int new_work;\n");
  EXPECT_FALSE(fs::exists(app_ + "/tmp")) << "an extra folder nothing wrote to since is removed";
  EXPECT_EQ(r.applied.failed, 4u);
  ASSERT_EQ(problems.problems.size(), 4u);
  for (const std::string& p : problems.problems) EXPECT_NE(p.find("changed since the "), std::string::npos) << p;
}

}  // namespace
}  // namespace cairn
