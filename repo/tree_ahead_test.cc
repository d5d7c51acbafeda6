// TreeAhead: a snapshot's trees loaded ahead of a walk (with their data blobs looked up, for
// backup), handed over in walk order.
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
TreeAhead::Loaded TakeEventually(TreeAhead* ahead, const Id& id) {
  for (int i = 0; i < 2000; ++i) {
    if (TreeAhead::Loaded loaded = ahead->Take(id); loaded.tree) return loaded;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
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
    std::shared_ptr<const Tree> tree = TakeEventually(&ahead, id).tree;
    ASSERT_NE(tree, nullptr) << path;
    Result<Tree> direct = repo_->LoadTree(id);
    ASSERT_TRUE(direct.ok());
    EXPECT_EQ(EncodeTree(*tree), EncodeTree(*direct)) << path;
    EXPECT_EQ(ahead.Take(id).tree, nullptr) << "handed over once: " << path;
  }
}

TEST_F(TreeAheadTest, TreesTheWalkPassedAreDroppedAndLoadFallsBackToTheRepository) {
  TreeAhead ahead(repo_.get(), root_);
  // The walk skips src/a and src/b (say, folders gone from the live tree) and takes src/b/deep.
  ASSERT_NE(TakeEventually(&ahead, Subtree("src/b/deep")).tree, nullptr);
  EXPECT_EQ(ahead.Take(Subtree("src/a")).tree, nullptr) << "loaded before the one taken: dropped";
  EXPECT_EQ(ahead.Take(root_).tree, nullptr);
  // Load still finds it, in the repository.
  Result<TreeAhead::Loaded> a = TreeAhead::Load(repo_.get(), &ahead, Subtree("src/a"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->tree->nodes.size(), 1u);
  // What comes after is still handed over.
  EXPECT_NE(TakeEventually(&ahead, Subtree("src/c")).tree, nullptr);
}

TEST_F(TreeAheadTest, AnUnreadableRootLeavesTheWalkToMeetTheError) {
  Id missing;
  missing.bytes.fill(9);
  TreeAhead ahead(repo_.get(), missing);
  Result<TreeAhead::Loaded> t = TreeAhead::Load(repo_.get(), &ahead, missing);
  EXPECT_FALSE(t.ok());
}

TEST_F(TreeAheadTest, StopsWhenDestroyedWithNothingTaken) {
  { TreeAhead ahead(repo_.get(), root_); }  // joins without hanging
  auto root = repo_->LoadTree(root_);
  ASSERT_TRUE(root.ok());
  { TreeAhead ahead(repo_.get(), *root, /*look_up_data=*/true); }
  SUCCEED();
}

TEST_F(TreeAheadTest, DataBlobsComeLookedUpWithTheirPacksInNodeOrder) {
  // A folder with two files and a subfolder: lookups for the files' blobs, in order.
  WriteFile(tmp_ / "src2/a.bin", RandomData(300000, 1));
  WriteFile(tmp_ / "src2/m/x", RandomData(10, 3));
  WriteFile(tmp_ / "src2/z.bin", RandomData(5000, 2));
  auto backup = BackupPaths(repo_.get(), {tmp_ / "src2"}, BackupOptions{}, nullptr);
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  auto root = repo_->LoadTree(backup->snapshot.tree);
  ASSERT_TRUE(root.ok());
  Id folder = root->nodes[0].subtree;
  TreeAhead ahead(repo_.get(), *root, /*look_up_data=*/true);
  TreeAhead::Loaded loaded = TakeEventually(&ahead, folder);
  ASSERT_NE(loaded.tree, nullptr);
  std::vector<Id> want;
  for (const Node& n : loaded.tree->nodes)
    if (n.type == NodeType::kFile) want.insert(want.end(), n.content.begin(), n.content.end());
  ASSERT_EQ(loaded.data_packs.size(), want.size());
  ASSERT_GE(want.size(), 2u);
  for (size_t i = 0; i < want.size(); ++i) {
    auto where = repo_->FindBlob(BlobType::kData, want[i]);
    ASSERT_TRUE(where.ok());
    ASSERT_TRUE(loaded.data_packs[i].has_value()) << i;
    EXPECT_EQ(*loaded.data_packs[i], where->pack) << i;
  }
  // Without lookups, none come.
  TreeAhead plain(repo_.get(), backup->snapshot.tree);
  EXPECT_TRUE(TakeEventually(&plain, folder).data_packs.empty());
}

}  // namespace
}  // namespace cairn
