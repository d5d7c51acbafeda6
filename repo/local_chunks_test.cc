#include "repo/local_chunks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "repo/backup.h"
#include "repo/test_util.h"
#include "repo/walker.h"

namespace cairn {
namespace {

using testing::TempDir;

// The promise the diff and the in-place restore rely on: local ids equal the snapshot's ids.
TEST(LocalChunks, IdsEqualThoseOfABackup) {
  TempDir dir;
  auto repo = testing::MakeTestRepo(dir.path());
  ASSERT_NE(repo, nullptr);
  Bytes data = testing::RandomData(3 << 20, 7);
  testing::WriteFile(dir / "src/f", data);
  auto result = BackupPaths(repo.get(), {dir / "src"}, BackupOptions{}, nullptr);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  auto node = FindNode(repo.get(), result->snapshot.tree, "src/f");
  ASSERT_TRUE(node.ok()) << node.status().ToString();

  int fd = open((dir / "src/f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto chunks = ChunkLocalFile(*repo, fd);
  close(fd);
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  ASSERT_EQ(chunks->size(), node->content.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < chunks->size(); ++i) {
    EXPECT_EQ((*chunks)[i].id, node->content[i]);
    EXPECT_EQ((*chunks)[i].offset, offset);
    offset += (*chunks)[i].length;
  }
  EXPECT_EQ(offset, data.size());
}

}  // namespace
}  // namespace cairn
