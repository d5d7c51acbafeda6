// TreeAhead: a snapshot's trees loaded ahead of a walk, handed over in walk order.
#include "repo/tree_ahead.h"

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

// Waits for the loading thread to reach `id` (it runs on its own).
std::shared_ptr<const Tree> TakeEventually(TreeAhead* ahead, const Id& id) {
  for (int i = 0; i < 2000; ++i) {
    if (std::shared_ptr<const Tree> tree = ahead->Take(id)) return tree;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return nullptr;
}

class TreeAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = testing::MakeTestRepo(tmp_.path());
    ASSERT_NE(repo_, nullptr);
    // src/{a,b,c}/f and src/b/deep/f: folders a, b, b/deep and c, in walk order.
    for (const char* d : {"a", "b", "b/deep", "c"})
      WriteFile(tmp_ / ("src/" + std::string(d) + "/f"), RandomData(1000, d[0] + d[1]));
    auto backup = BackupPaths(repo_.get(), {tmp_ / "src"}, BackupOptions{}, nullptr);
    ASSERT_TRUE(backup.ok()) << backup.status().ToString();
    root_ = backup->snapshot.tree;
  }
  Id Subtree(const std::string& path) {
    Result<Node> node = FindNode(repo_.get(), root_, path);
    EXPECT_TRUE(node.ok()) << path;
    return node.ok() ? node->subtree : Id();
  }

  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
  Id root_;
};

TEST_F(TreeAheadTest, HandsOverEachTreeOnceWithTheContentTheRepositoryHas) {
  TreeAhead ahead(repo_.get(), root_);
  for (const char* path : {"", "src", "src/a", "src/b", "src/b/deep", "src/c"}) {
    Id id = *path ? Subtree(path) : root_;
    std::shared_ptr<const Tree> tree = TakeEventually(&ahead, id);
    ASSERT_NE(tree, nullptr) << path;
    Result<Tree> direct = repo_->LoadTree(id);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(EncodeTree(*tree), EncodeTree(*direct)) << path;
    EXPECT_EQ(ahead.Take(id), nullptr) << "handed over once: " << path;
  }
}

TEST_F(TreeAheadTest, TreesTheWalkPassedAreDroppedAndLoadFallsBackToTheRepository) {
  TreeAhead ahead(repo_.get(), root_);
  // The walk skips src/a and src/b (say, folders gone from the live tree) and takes src/b/deep.
  ASSERT_NE(TakeEventually(&ahead, Subtree("src/b/deep")), nullptr);
  EXPECT_EQ(ahead.Take(Subtree("src/a")), nullptr) << "loaded before the one taken: dropped";
  EXPECT_EQ(ahead.Take(root_), nullptr);
  // Load still finds it, in the repository.
  Result<std::shared_ptr<const Tree>> a = TreeAhead::Load(repo_.get(), &ahead, Subtree("src/a"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ((*a)->nodes.size(), 1u);
  // What comes after is still handed over.
  EXPECT_NE(TakeEventually(&ahead, Subtree("src/c")), nullptr);
}

TEST_F(TreeAheadTest, AnUnreadableRootLeavesTheWalkToMeetTheError) {
  Id missing;
  missing.bytes.fill(9);
  TreeAhead ahead(repo_.get(), missing);
  Result<std::shared_ptr<const Tree>> t = TreeAhead::Load(repo_.get(), &ahead, missing);
  EXPECT_FALSE(t.ok());
}

TEST_F(TreeAheadTest, StopsWhenDestroyedWithNothingTaken) {
  { TreeAhead ahead(repo_.get(), root_); }  // joins without hanging
  SUCCEED();
}

}  // namespace
}  // namespace cairn
