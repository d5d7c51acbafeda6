#include "repo/scrub.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "repo/backup.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::RandomData;
using testing::TempDir;

class ScrubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = OpenLocalBackend(tmp_ / "repo", true);
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", testing::TestInitOptions()).ok());
    Reopen();
    testing::WriteFile(tmp_ / "src/app/a.bin", RandomData(3 << 20, 1));
    testing::WriteFile(tmp_ / "src/app/b.txt", AsBytes("hello"));
    auto r = BackupPaths(repo_.get(), {tmp_ / "src/app"}, BackupOptions{}, nullptr);
    ASSERT_TRUE(r.ok());
  }
  void Reopen(std::unique_ptr<Backend> backend = nullptr) {
    repo_.reset();
    if (!backend) backend = std::move(OpenLocalBackend(tmp_ / "repo", false)).value();
    repo_ = std::move(Repository::Open(std::move(backend), "pw", OpenOptions{tmp_ / "cache"})).value();
  }
  std::vector<fs::path> Packs() {
    std::vector<fs::path> out;
    for (auto& sub : fs::directory_iterator(tmp_ / "repo/data"))
      for (auto& f : fs::directory_iterator(sub)) out.push_back(f.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  ScrubReport Run(bool read_data) {
    ScrubOptions o;
    o.read_data = read_data;
    auto r = Scrub(repo_.get(), o, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ScrubReport{};
  }
  std::string All(const ScrubReport& r) {
    std::string s;
    for (const auto& f : r.findings) {
      s += f.object + ": " + f.problem + "\n";
      for (const auto& a : f.affected) s += "  " + a + "\n";
    }
    return s;
  }

  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(ScrubTest, CleanRepositoryHasNoFindings) {
  ScrubReport r = Run(true);
  EXPECT_FALSE(r.damaged());
  EXPECT_TRUE(r.findings.empty()) << All(r);
  EXPECT_EQ(r.snapshots, 1u);
  EXPECT_EQ(r.packs_read, r.packs);
  EXPECT_GT(r.blobs_read, 100u);
}

TEST_F(ScrubTest, FlippedByteIsFoundAndNamesTheFile) {
  std::vector<fs::path> packs = Packs();
  // The largest pack holds data blobs of a.bin.
  fs::path victim = *std::max_element(packs.begin(), packs.end(), [](auto& a, auto& b) {
    return fs::file_size(a) < fs::file_size(b);
  });
  Bytes b = testing::ReadFile(victim);
  b[b.size() / 2] ^= 0x01;
  testing::WriteFile(victim, b);
  EXPECT_FALSE(Run(false).damaged());  // structure alone cannot see flipped bytes
  ScrubReport r = Run(true);
  EXPECT_TRUE(r.damaged());
  std::string all = All(r);
  EXPECT_NE(all.find("pack " + victim.filename().string()), std::string::npos) << all;
  EXPECT_NE(all.find("authentication failed"), std::string::npos) << all;
  EXPECT_NE(all.find("app/a.bin"), std::string::npos) << all;
  EXPECT_EQ(all.find("app/b.txt"), std::string::npos) << all;
}

TEST_F(ScrubTest, MissingPackIsDamage) {
  std::vector<fs::path> packs = Packs();
  fs::remove(packs[0]);
  ScrubReport r = Run(false);
  EXPECT_TRUE(r.damaged());
  EXPECT_NE(All(r).find("missing from the repository"), std::string::npos) << All(r);
}

TEST_F(ScrubTest, UnindexedPackIsANoticeNotDamage) {
  // A writer whose index file write fails leaves a durable but unindexed pack.
  auto base = OpenLocalBackend(tmp_ / "repo", false);
  FaultPlan plan;
  plan.fail_put_after = 0;
  plan.fail_put_any_type = false;
  plan.fail_put_type = ObjectType::kIndex;
  Reopen(std::make_unique<FaultyBackend>(base->get(), plan));
  testing::WriteFile(tmp_ / "src/other/c.bin", RandomData(1 << 20, 2));
  ASSERT_FALSE(BackupPaths(repo_.get(), {tmp_ / "src/other"}, BackupOptions{}, nullptr).ok());
  Reopen();
  ScrubReport r = Run(true);
  EXPECT_FALSE(r.damaged()) << All(r);
  EXPECT_NE(All(r).find("not in any index file"), std::string::npos) << All(r);
}

TEST_F(ScrubTest, SubsetsPartitionThePacks) {
  uint64_t total = 0;
  for (uint32_t n = 1; n <= 3; ++n) {
    ScrubOptions o;
    ASSERT_TRUE(ParseDataSubset(std::to_string(n) + "/3", &o).ok());
    auto r = Scrub(repo_.get(), o, nullptr);
    ASSERT_TRUE(r.ok());
    total += r->packs_read;
  }
  EXPECT_EQ(total, Packs().size());
  ScrubOptions all;
  ASSERT_TRUE(ParseDataSubset("100%", &all).ok());
  EXPECT_EQ(Scrub(repo_.get(), all, nullptr)->packs_read, Packs().size());
}

TEST(ScrubParse, RejectsMalformedSubsets) {
  for (const char* bad : {"", "0/3", "4/3", "1/0", "x/y", "0%", "101%", "abc", "1-3"}) {
    ScrubOptions o;
    EXPECT_EQ(ParseDataSubset(bad, &o).code(), Code::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace cairn
