#include "repo/live_diff.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>

#include "repo/backup.h"
#include "repo/test_util.h"
#include "repo/walker.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::RandomData;
using testing::TempDir;
using testing::WriteFile;

struct Timestamps {
  struct timespec ts[2];
};

Timestamps GetTimes(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0);
  return Timestamps{{st.st_atim, st.st_mtim}};
}

void SetTimes(const std::string& path, const Timestamps& t) {
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), t.ts, AT_SYMLINK_NOFOLLOW), 0);
}

class LiveDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = testing::MakeTestRepo(tmp_.path());
    ASSERT_NE(repo_, nullptr);
    WriteFile(src_ + "/same.txt", AsBytes("same"));
    WriteFile(src_ + "/edit.txt", RandomData(50000, 1));
    WriteFile(src_ + "/grow.txt", AsBytes("short"));
    WriteFile(src_ + "/gone/a.txt", AsBytes("a"));
    WriteFile(src_ + "/mode.txt", AsBytes("m"));
    WriteFile(src_ + "/touched.txt", AsBytes("t"));
    WriteFile(src_ + "/file-to-dir", AsBytes("file"));
    WriteFile(src_ + "/dir-to-link/inside", AsBytes("i"));
    fs::create_symlink("same.txt", src_ + "/link");
    WriteFile(src_ + "/deep/er/x", RandomData(100000, 2));
  }

  // Backs up src and returns the snapshot's node for it.
  Node Backup() {
    auto r = BackupPaths(repo_.get(), {src_}, BackupOptions{}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    auto node = BackedUpEntry(repo_.get(), r->snapshot, src_);
    EXPECT_TRUE(node.ok() && node->has_value());
    return **node;
  }

  // path -> change name, and the paths in the order they were reported.
  std::map<std::string, std::string> Diff(const Node& node, bool quick, LiveDiffResult* out = nullptr,
                                          std::vector<std::string>* order = nullptr) {
    std::map<std::string, std::string> seen;
    LiveDiffOptions o;
    o.quick = quick;
    o.threads = 2;
    auto r = DiffLiveEntry(repo_.get(), node, src_, o,
                           [&](const DiffEntry& e) {
                             seen[e.path] = ChangeName(e.change);
                             if (order) order->push_back(e.path);
                           },
                           nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (out && r.ok()) *out = *r;
    return seen;
  }

  TempDir tmp_;
  std::string src_ = tmp_ / "src/app";
  std::unique_ptr<Repository> repo_;
};

TEST_F(LiveDiffTest, IdenticalTreeHasNoDifferences) {
  Node node = Backup();
  for (bool quick : {false, true}) {
    LiveDiffResult r;
    EXPECT_TRUE(Diff(node, quick, &r).empty()) << "quick=" << quick;
    EXPECT_TRUE(r.identical());
    EXPECT_EQ(r.files_read, quick ? 0u : 9u);  // content mode reads every file; quick none
  }
  // The snapshot's folder against the live folder's contents gives the same answer.
  auto sub = SubtreeAt(repo_.get(), repo_->FindSnapshot("latest")->snapshot.tree, "app");
  ASSERT_TRUE(sub.ok());
  int calls = 0;
  auto r = DiffLive(repo_.get(), *sub, src_, LiveDiffOptions{}, [&](const DiffEntry&) { ++calls; }, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(calls, 0);
}

TEST_F(LiveDiffTest, ReportsEachKindOfChange) {
  Node node = Backup();
  WriteFile(src_ + "/grow.txt", AsBytes("longer now"));
  fs::remove_all(src_ + "/gone");
  WriteFile(src_ + "/new/b.txt", AsBytes("b"));
  chmod((src_ + "/mode.txt").c_str(), 0600);
  Timestamps t = GetTimes(src_ + "/touched.txt");
  t.ts[1].tv_sec -= 3600;
  SetTimes(src_ + "/touched.txt", t);
  fs::remove(src_ + "/file-to-dir");
  WriteFile(src_ + "/file-to-dir/inside", AsBytes("i"));
  fs::remove_all(src_ + "/dir-to-link");
  fs::create_symlink("deep", src_ + "/dir-to-link");
  fs::remove(src_ + "/link");
  fs::create_symlink("edit.txt", src_ + "/link");

  for (bool quick : {false, true}) {
    auto seen = Diff(node, quick);
    EXPECT_EQ(seen["app/grow.txt"], "modified");
    EXPECT_EQ(seen["app/gone"], "removed");
    EXPECT_EQ(seen["app/gone/a.txt"], "removed");
    EXPECT_EQ(seen["app/new"], "added");
    EXPECT_EQ(seen["app/new/b.txt"], "added");
    EXPECT_EQ(seen["app/mode.txt"], "metadata");
    EXPECT_EQ(seen["app/touched.txt"], "metadata");  // same content: only its mtime moved
    EXPECT_EQ(seen["app/file-to-dir"], "type");
    EXPECT_EQ(seen["app/file-to-dir/inside"], "added");
    EXPECT_EQ(seen["app/dir-to-link"], "type");
    EXPECT_EQ(seen["app/dir-to-link/inside"], "removed");
    EXPECT_EQ(seen["app/link"], "modified");
    EXPECT_EQ(seen.count("app/same.txt"), 0u);
    EXPECT_EQ(seen.count("app/deep/er/x"), 0u);
    // The live symlink to deep/ is not followed: nothing below it is listed.
    EXPECT_EQ(seen.count("app/dir-to-link/er"), 0u);
  }
}

TEST_F(LiveDiffTest, SymlinkToFileBecomingFileIsATypeChange) {
  Node node = Backup();
  fs::remove(src_ + "/link");
  WriteFile(src_ + "/link", AsBytes("same"));  // the content the link pointed at
  fs::remove(src_ + "/same.txt");
  fs::create_symlink("edit.txt", src_ + "/same.txt");
  auto seen = Diff(node, false);
  EXPECT_EQ(seen["app/link"], "type");
  EXPECT_EQ(seen["app/same.txt"], "type");
}

TEST_F(LiveDiffTest, QuickMissesSameSizeSameMtimeChangeContentModeCatchesIt) {
  Node node = Backup();
  std::string path = src_ + "/edit.txt";
  Timestamps t = GetTimes(path);
  WriteFile(path, RandomData(50000, 99));  // same size, other bytes
  SetTimes(path, t);                        // and the old mtime back

  EXPECT_TRUE(Diff(node, true).empty());
  auto seen = Diff(node, false);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen["app/edit.txt"], "modified");
}

TEST_F(LiveDiffTest, ModifiedSameSizeNewMtimeIsContentInBothModes) {
  Node node = Backup();
  std::string path = src_ + "/deep/er/x";
  Bytes data = RandomData(100000, 2);
  data[77777] ^= 1;
  Timestamps t = GetTimes(path);
  WriteFile(path, data);
  t.ts[1].tv_sec += 10;
  SetTimes(path, t);
  for (bool quick : {false, true}) {
    auto seen = Diff(node, quick);
    EXPECT_EQ(seen.size(), 1u) << "quick=" << quick;
    EXPECT_EQ(seen["app/deep/er/x"], "modified");
  }
}

// Content is compared by ids computed locally: a repository without its data packs still
// answers, so diffing never downloads data.
TEST_F(LiveDiffTest, ReadsNoDataPacks) {
  Node node = Backup();
  Result<SnapshotRef> snap = repo_->FindSnapshot("latest");
  ASSERT_TRUE(snap.ok());
  std::set<Id> packs;
  Id any_data;
  auto collect = [&](const std::string&, const Node& n) -> Result<bool> {
    for (const Id& id : n.content) {
      ASSIGN_OR_RETURN(BlobLocation loc, repo_->FindBlob(BlobType::kData, id));
      packs.insert(loc.pack);
      any_data = id;
    }
    return true;
  };
  ASSERT_TRUE(WalkTree(repo_.get(), snap->snapshot.tree, "", collect).ok());
  ASSERT_FALSE(packs.empty());
  for (const Id& p : packs)
    ASSERT_TRUE(fs::remove(tmp_ / ("repo/" + ObjectName{ObjectType::kData, p.Hex()}.ToString())));
  ASSERT_FALSE(repo_->LoadBlob(BlobType::kData, any_data).ok());  // the data is really gone

  LiveDiffResult r;
  EXPECT_TRUE(Diff(node, false, &r).empty());
  EXPECT_EQ(r.files_read, 9u);
  Bytes data = RandomData(50000, 1);
  data[0] ^= 0xff;
  Timestamps t = GetTimes(src_ + "/edit.txt");
  WriteFile(src_ + "/edit.txt", data);
  SetTimes(src_ + "/edit.txt", t);
  auto seen = Diff(node, false);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen["app/edit.txt"], "modified");
}

// Files are hashed on several threads; differences still come out in path order.
TEST_F(LiveDiffTest, ReportsInPathOrderWhileHashingInParallel) {
  for (int i = 0; i < 60; ++i) {
    char name[32];
    snprintf(name, sizeof(name), "/many/f%02d", i);
    WriteFile(src_ + name, RandomData(20000 + (i % 7) * 5000, 100 + i));
  }
  Node node = Backup();
  for (int i = 0; i < 60; i += 3) {
    char name[32];
    snprintf(name, sizeof(name), "/many/f%02d", i);
    Bytes data = RandomData(20000 + (i % 7) * 5000, 100 + i);
    data[5] ^= 1;
    Timestamps t = GetTimes(src_ + name);
    WriteFile(src_ + name, data);
    SetTimes(src_ + name, t);
    if (i % 2) chmod((src_ + name).c_str(), 0600);
  }
  WriteFile(src_ + "/many/zz-added", AsBytes("z"));
  std::vector<std::string> order;
  auto seen = Diff(node, false, nullptr, &order);
  EXPECT_EQ(seen.size(), 20u + 1u + 1u);  // 20 files, the added one, and many/ (mtime)
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end())) << ::testing::PrintToString(order);
  EXPECT_EQ(seen["app/many/f03"], "modified");
}

// Root reads files whatever their mode: as root, the comparison runs in a child process that
// has dropped to an unprivileged user.
TEST_F(LiveDiffTest, UnreadableFileIsReportedNotCountedAsADifference) {
  Node node = Backup();
  std::string path = src_ + "/edit.txt";
  Timestamps t = GetTimes(path);
  chmod(path.c_str(), 0);
  SetTimes(path, t);
  auto check = [&]() -> std::string {
    struct Problems : Reporter {
      std::vector<std::string> paths;
      void Problem(const std::string& p, const Status&) override { paths.push_back(p); }
    } problems;
    std::map<std::string, std::string> seen;
    auto r = DiffLiveEntry(repo_.get(), node, src_, LiveDiffOptions{},
                           [&](const DiffEntry& e) { seen[e.path] = ChangeName(e.change); }, &problems);
    if (!r.ok()) return r.status().ToString();
    if (r->unreadable != 1 || r->identical()) return "unreadable=" + std::to_string(r->unreadable);
    if (problems.paths != std::vector<std::string>{"app/edit.txt"}) return "problems not reported";
    if (!seen.empty()) return "listed as a difference: " + seen.begin()->first;
    return "";
  };
  if (geteuid() != 0) {
    EXPECT_EQ(check(), "");
  } else {
    // Everything but edit.txt readable by the unprivileged user.
    for (const auto& e : fs::recursive_directory_iterator(tmp_.path()))
      if (e.path() != path && !e.is_symlink())
        chmod(e.path().c_str(), e.is_directory() ? 0755 : 0644);
    chmod(tmp_.path().c_str(), 0755);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = setgid(65534) == 0 && setuid(65534) == 0 ? 0 : 2;
      std::string error = rc ? "cannot drop privileges" : check();
      if (!error.empty()) fprintf(stderr, "child: %s\n", error.c_str());
      _exit(error.empty() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  chmod(path.c_str(), 0644);
}

// Given the snapshot's selection, entries it left out are not listed as added.
TEST_F(LiveDiffTest, SelectionOfTheSnapshotIsApplied) {
  WriteFile(src_ + "/logs/today.log", AsBytes("log"));
  WriteFile(src_ + "/cache/CACHEDIR.TAG", AsBytes("Signature: 8a477f597d28d172789f06886806bc55"));
  WriteFile(src_ + "/cache/blob", AsBytes("c"));
  BackupOptions bo;
  ASSERT_TRUE(bo.selection.patterns.Add("*.log").ok());
  bo.selection.exclude_if_present = {"CACHEDIR.TAG"};
  auto r = BackupPaths(repo_.get(), {src_}, bo, nullptr);
  ASSERT_TRUE(r.ok());
  auto node = BackedUpEntry(repo_.get(), r->snapshot, src_);
  ASSERT_TRUE(node.ok() && node->has_value());

  auto seen = Diff(**node, true);
  EXPECT_EQ(seen["app/logs/today.log"], "added");
  EXPECT_EQ(seen["app/cache"], "added");

  LiveDiffOptions o;
  o.selection = &bo.selection;
  int calls = 0;
  auto same = DiffLiveEntry(repo_.get(), **node, src_, o, [&](const DiffEntry&) { ++calls; }, nullptr);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(calls, 0);
  // The folder form: patterns stay relative to the backed-up path.
  auto sub = SubtreeAt(repo_.get(), r->snapshot.tree, "app/logs");
  ASSERT_TRUE(sub.ok());
  o.snapshot_base = "app/logs";
  auto folder = DiffLive(repo_.get(), *sub, src_ + "/logs", o, [&](const DiffEntry&) { ++calls; }, nullptr);
  ASSERT_TRUE(folder.ok());
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace cairn
