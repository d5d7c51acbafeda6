// The fixture the rollback tests share (rollback_test.cc, rollback_safety_test.cc): a small
// application tree, its snapshot, rollbacks of it, and what they compare.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "repo/backup.h"
#include "repo/local_chunks.h"
#include "repo/rollback.h"
#include "repo/test_util.h"
#include "repo/walker.h"

namespace cairn {
namespace rollback_testing {

namespace fs = std::filesystem;
using testing::CollectingReporter;
using testing::Describe;
using testing::RandomData;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

inline struct stat Lstat(const std::string& path) {
  struct stat st {};
  lstat(path.c_str(), &st);
  return st;
}

// Describe() plus every entry's inode: equal before and after means nothing was touched.
inline std::vector<std::string> DescribeWithInodes(const std::string& root) {
  std::vector<std::string> out = Describe(root);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
    out.push_back(it->path().string() + " ino=" + std::to_string(Lstat(it->path()).st_ino));
  std::sort(out.begin(), out.end());
  return out;
}

class RollbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = testing::MakeTestRepo(tmp_.path());
    ASSERT_NE(repo_, nullptr);
    app_ = tmp_ / "srv/app";
  }

  void MakeApp() {
    WriteFile(app_ + "/big.bin", RandomData(1 << 20, 1));
    WriteFile(app_ + "/lib/util.so", RandomData(200000, 2));
    WriteFile(app_ + "/conf/app.yaml", AsBytes("port: 8080\nworkers: 4\n"));
    WriteFile(app_ + "/src/main.c", AsBytes("int main() { return 0; }\n"));
    WriteFile(app_ + "/bin/run", AsBytes("#!/bin/sh\nexec app\n"));
    chmod((app_ + "/bin/run").c_str(), 0755);
    fs::create_directory_symlink("lib", app_ + "/current");
  }

  // Snapshot of app_ with its root entry "app" as the root, as `ID:app` selects it.
  std::pair<Id, Snapshot> SnapshotApp() {
    auto r = BackupPaths(repo_.get(), {app_}, BackupOptions{}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return {r->snapshot_id, Subtree(r->snapshot, "app")};
  }

  Snapshot Subtree(Snapshot s, const std::string& path) {
    auto tree = SubtreeAt(repo_.get(), s.tree, path);
    EXPECT_TRUE(tree.ok());
    s.tree = *tree;
    return s;
  }

  RollbackOptions Options(bool delete_extra, bool undo = false) {
    RollbackOptions o;
    o.restore.target = app_;
    o.restore.in_place = true;
    o.restore.delete_extra = delete_extra;
    o.restore.list_changes = true;
    o.undo_snapshot = undo;
    return o;
  }

  RollbackResult Roll(const std::pair<Id, Snapshot>& snap, const RollbackOptions& o, Reporter* rep = nullptr) {
    auto r = RollBack(repo_.get(), snap.second, snap.first, o, rep);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RollbackResult{};
  }

  // Stored bytes of the snapshot file's blobs that the live file does not have.
  uint64_t MissingStoredBytes(const std::string& live, const Node& node) {
    std::set<Id> have;
    int fd = open(live.c_str(), O_RDONLY);
    if (fd >= 0) {
      auto chunks = ChunkLocalFile(*repo_, fd);
      close(fd);
      for (const LocalChunk& c : *chunks) have.insert(c.id);
    }
    std::set<Id> missing;
    uint64_t bytes = 0;
    for (const Id& id : node.content)
      if (!have.count(id) && missing.insert(id).second) bytes += repo_->FindBlob(BlobType::kData, id)->entry.length;
    return bytes;
  }

  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
  std::string app_;
};

}  // namespace rollback_testing
}  // namespace cairn
