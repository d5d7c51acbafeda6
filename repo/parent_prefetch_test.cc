// ParentBlobPrefetch: the parent's blobs looked up ahead of the walk.
#include "repo/parent_prefetch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "repo/backup.h"
#include "repo/test_util.h"
#include "repo/walker.h"

namespace cairn {
namespace {

using testing::RandomData;
using testing::TempDir;
using testing::WriteFile;

// Waits for the prefetch thread to reach `id` (it runs on its own).
std::optional<Id> TakeEventually(ParentBlobPrefetch* p, const Id& id) {
  for (int i = 0; i < 2000; ++i) {
    if (std::optional<Id> pack = p->TakePack(id)) return pack;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

TEST(ParentBlobPrefetchTest, FindsStoredBlobsOnceWithTheirPacks) {
  TempDir tmp;
  auto repo = testing::MakeTestRepo(tmp.path());
  ASSERT_NE(repo, nullptr);
  WriteFile(tmp / "src/a.bin", RandomData(300000, 1));
  WriteFile(tmp / "src/sub/b.bin", RandomData(5000, 2));
  auto backup = BackupPaths(repo.get(), {tmp / "src"}, BackupOptions{}, nullptr);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  auto root = repo->LoadTree(backup->snapshot.tree);
  ASSERT_TRUE(root.ok());
  auto b = FindNode(repo.get(), backup->snapshot.tree, "src/sub/b.bin");
  ASSERT_TRUE(b.ok());
  ASSERT_FALSE(b->content.empty());
  auto where = repo->FindBlob(BlobType::kData, b->content[0]);
  ASSERT_TRUE(where.ok());

  ParentBlobPrefetch prefetch(repo.get(), *root);
  std::optional<Id> pack = TakeEventually(&prefetch, b->content[0]);
  ASSERT_TRUE(pack.has_value()) << "a blob in a subfolder's file is found";
  EXPECT_EQ(*pack, where->pack);
  EXPECT_FALSE(prefetch.TakePack(b->content[0]).has_value()) << "an answer is handed over once";
  Id absent;
  absent.bytes.fill(7);
  EXPECT_FALSE(prefetch.TakePack(absent).has_value());
}

TEST(ParentBlobPrefetchTest, StopsWhenDestroyedEarly) {
  TempDir tmp;
  auto repo = testing::MakeTestRepo(tmp.path());
  ASSERT_NE(repo, nullptr);
  for (int i = 0; i < 50; ++i) WriteFile(tmp / ("src/f" + std::to_string(i)), RandomData(1000, i));
  auto backup = BackupPaths(repo.get(), {tmp / "src"}, BackupOptions{}, nullptr);
  ASSERT_TRUE(backup.ok());
  auto root = repo->LoadTree(backup->snapshot.tree);
  ASSERT_TRUE(root.ok());
  { ParentBlobPrefetch prefetch(repo.get(), *root); }  // joins without hanging
  SUCCEED();
}

}  // namespace
}  // namespace cairn
