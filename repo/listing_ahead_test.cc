// ListingAhead: a backed-up folder tree listed ahead of the walk, in the walk's order.
#include "repo/listing_ahead.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "repo/test_util.h"

namespace cairn {
namespace {

using testing::RandomData;
using testing::TempDir;
using testing::WriteFile;

std::vector<std::string> Names(const ListingAhead::Listing& l) {
  std::vector<std::string> out;
  for (const auto& e : l.entries) out.push_back(e.name);
  return out;
}

TEST(ListingAheadTest, WalkOrderIsDepthFirstWithNamesSorted) {
  EXPECT_TRUE(ListingAhead::WalkOrderLess("/r/a", "/r/a/z"));   // a folder before what it holds
  EXPECT_TRUE(ListingAhead::WalkOrderLess("/r/a/z", "/r/a.b"));  // all of a before a.b ('/' > '.')
  EXPECT_TRUE(ListingAhead::WalkOrderLess("/r/a.b", "/r/b"));
  EXPECT_FALSE(ListingAhead::WalkOrderLess("/r/a", "/r/a"));
  EXPECT_FALSE(ListingAhead::WalkOrderLess("/r/b", "/r/a/z"));
  EXPECT_TRUE(ListingAhead::WalkOrderLess("/r/B", "/r/a"));  // byte order, as the walk sorts
}

TEST(ListingAheadTest, ListsEveryFolderWithEachEntrysLstatInWalkOrder) {
  TempDir tmp;
  std::string root = tmp / "src";
  WriteFile(root + "/b/f2", RandomData(10, 1));
  WriteFile(root + "/a/f1", RandomData(20, 2));
  WriteFile(root + "/a/deep/f3", RandomData(30, 3));
  WriteFile(root + "/top", RandomData(40, 4));
  ASSERT_EQ(symlink(tmp.path().c_str(), (root + "/link").c_str()), 0);  // a folder, by a link
  Selection selection;
  struct stat rs;
  ASSERT_EQ(lstat(root.c_str(), &rs), 0);
  ListingAhead ahead(root, &selection, rs.st_dev);

  auto top = ahead.Take(root);
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(Names(*top), (std::vector<std::string>{"a", "b", "link", "top"}));
  EXPECT_EQ(top->dir.st_ino, rs.st_ino);
  struct stat st;
  ASSERT_EQ(lstat((root + "/top").c_str(), &st), 0);
  EXPECT_EQ(top->entries[3].st.st_ino, st.st_ino);
  EXPECT_EQ(top->entries[3].st.st_size, 40);
  EXPECT_TRUE(S_ISLNK(top->entries[2].st.st_mode)) << "lstat, not stat";

  auto a = ahead.Take(root + "/a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(Names(*a), (std::vector<std::string>{"deep", "f1"}));
  auto deep = ahead.Take(root + "/a/deep");
  ASSERT_NE(deep, nullptr);
  EXPECT_EQ(Names(*deep), (std::vector<std::string>{"f3"}));
  auto b = ahead.Take(root + "/b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Names(*b), (std::vector<std::string>{"f2"}));
  EXPECT_EQ(ahead.Take(root + "/link"), nullptr) << "a symlink is never entered";
  EXPECT_EQ(ahead.Take(root + "/b"), nullptr) << "handed over once";
}

TEST(ListingAheadTest, SkippedFoldersAreDroppedAndExcludedOnesNeverListed) {
  TempDir tmp;
  std::string root = tmp / "src";
  WriteFile(root + "/a/f", RandomData(10, 1));
  WriteFile(root + "/cache/f", RandomData(10, 2));
  WriteFile(root + "/marked/.nobackup", RandomData(1, 3));
  WriteFile(root + "/z/f", RandomData(10, 4));
  Selection selection;
  ASSERT_TRUE(selection.patterns.Add("cache/").ok());
  selection.exclude_if_present = {".nobackup"};
  struct stat rs;
  ASSERT_EQ(lstat(root.c_str(), &rs), 0);
  ListingAhead ahead(root, &selection, rs.st_dev);
  ASSERT_NE(ahead.Take(root), nullptr);
  // The walk goes straight to z (say a is gone from its view): a is dropped, z still comes.
  ASSERT_NE(ahead.Take(root + "/z"), nullptr);
  EXPECT_EQ(ahead.Take(root + "/a"), nullptr);
  EXPECT_EQ(ahead.Take(root + "/cache"), nullptr);
  EXPECT_EQ(ahead.Take(root + "/marked"), nullptr);
}

TEST(ListingAheadTest, StopsWhenDestroyedWithNothingTaken) {
  TempDir tmp;
  std::string root = tmp / "src";
  for (int i = 0; i < 30; ++i) WriteFile(root + "/d" + std::to_string(i) + "/f", RandomData(10, i));
  Selection selection;
  { ListingAhead ahead(root, &selection, 0); }  // joins without hanging
  SUCCEED();
}

}  // namespace
}  // namespace cairn
