#include "repo/diff.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "repo/backup.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::WriteFile;

TEST(DiffTest, ReportsEachKindOfChange) {
  TempDir tmp;
  auto backend = OpenLocalBackend(tmp / "repo", true);
  ASSERT_TRUE(Repository::Init(backend->get(), "pw", testing::TestInitOptions()).ok());
  auto repo = Repository::Open(std::move(OpenLocalBackend(tmp / "repo", false)).value(), "pw",
                               OpenOptions{tmp / "cache"});
  ASSERT_TRUE(repo.ok());
  std::string src = tmp / "src/app";
  WriteFile(src + "/same.txt", AsBytes("same"));
  WriteFile(src + "/edit.txt", AsBytes("before"));
  WriteFile(src + "/gone/a.txt", AsBytes("a"));
  WriteFile(src + "/mode.txt", AsBytes("m"));
  WriteFile(src + "/becomes-dir", AsBytes("file"));
  fs::create_symlink("same.txt", src + "/link");
  WriteFile(src + "/untouched/deep/x", AsBytes("x"));
  auto first = BackupPaths(repo->get(), {src}, BackupOptions{}, nullptr);
  ASSERT_TRUE(first.ok());

  WriteFile(src + "/edit.txt", AsBytes("after!"));
  fs::remove_all(src + "/gone");
  WriteFile(src + "/new/b.txt", AsBytes("b"));
  chmod((src + "/mode.txt").c_str(), 0600);
  fs::remove(src + "/becomes-dir");
  WriteFile(src + "/becomes-dir/inside", AsBytes("i"));
  fs::remove(src + "/link");
  fs::create_symlink("edit.txt", src + "/link");
  auto second = BackupPaths(repo->get(), {src}, BackupOptions{}, nullptr);
  ASSERT_TRUE(second.ok());

  std::map<std::string, std::string> seen;
  auto st = DiffTrees(repo->get(), first->snapshot.tree, second->snapshot.tree,
                      [&](const DiffEntry& e) { seen[e.path] = ChangeName(e.change); });
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(seen["app/edit.txt"], "modified");
  EXPECT_EQ(seen["app/gone"], "removed");
  EXPECT_EQ(seen["app/gone/a.txt"], "removed");
  EXPECT_EQ(seen["app/new"], "added");
  EXPECT_EQ(seen["app/new/b.txt"], "added");
  EXPECT_EQ(seen["app/mode.txt"], "metadata");
  EXPECT_EQ(seen["app/becomes-dir"], "type");
  EXPECT_EQ(seen["app/becomes-dir/inside"], "added");
  EXPECT_EQ(seen["app/link"], "modified");
  EXPECT_EQ(seen.count("app/same.txt"), 0u);
  EXPECT_EQ(seen.count("app/untouched/deep/x"), 0u);
  EXPECT_FALSE(st->identical());

  auto self = DiffTrees(repo->get(), second->snapshot.tree, second->snapshot.tree, [](const DiffEntry&) {});
  ASSERT_TRUE(self.ok());
  EXPECT_TRUE(self->identical());
}

}  // namespace
}  // namespace cairn
