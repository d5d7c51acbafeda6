// Restore engine behaviour that the throughput work depends on: equality under many threads,
// stdout order, sparse files, bounded memory, decode-only runs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <mutex>

#include "repo/backup.h"
#include "repo/fetch_plan.h"
#include "repo/restore.h"
#include "repo/restore_bench.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::RandomData;
using testing::TempDir;

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = OpenLocalBackend(tmp_ / "repo", true);
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", testing::TestInitOptions()).ok());
    repo_ = std::move(Repository::Open(std::move(OpenLocalBackend(tmp_ / "repo", false)).value(),
                                       "pw", OpenOptions{tmp_ / "cache"}))
                .value();
  }
  TempDir tmp_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RestoreTest, FetchPlanReadsTheLongestRangeFirstAndDeliversEveryBlob) {
  // Small blobs in one pack, a big one in another: whatever the packs' order, the big range is
  // read first, so it does not run alone at the end while other workers idle.
  std::vector<std::pair<Id, Bytes>> blobs;
  for (int i = 0; i < 5; ++i) {
    Bytes data = RandomData(1000, 10 + i);
    auto saved = repo_->SaveBlob(BlobType::kData, data);
    ASSERT_TRUE(saved.ok());
    blobs.emplace_back(saved->id, data);
  }
  ASSERT_TRUE(repo_->Flush().ok());
  Bytes big = RandomData(2 << 20, 20);
  auto saved = repo_->SaveBlob(BlobType::kData, big);
  ASSERT_TRUE(saved.ok());
  blobs.emplace_back(saved->id, big);
  ASSERT_TRUE(repo_->Flush().ok());

  FetchPlan plan;
  for (size_t i = 0; i < blobs.size(); ++i) {
    auto loc = repo_->FindBlob(BlobType::kData, blobs[i].first);
    ASSERT_TRUE(loc.ok());
    plan.Add(*loc, BlobTarget{i, 0});
  }
  TaskGroup one_worker(1, 1);
  std::vector<size_t> order;
  std::mutex mu;
  Status s = plan.Execute(
      repo_.get(), &one_worker,
      [&](const BlobTarget& t, ByteView plain) {
        std::lock_guard<std::mutex> l(mu);
        EXPECT_TRUE(std::equal(plain.begin(), plain.end(), blobs[t.file].second.begin(),
                               blobs[t.file].second.end()))
            << "blob " << t.file;
        order.push_back(t.file);
        return Status::OK();
      },
      [&](const BlobTarget& t, const Status& st) { ADD_FAILURE() << "blob " << t.file << ": " << st.ToString(); },
      nullptr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(order.size(), blobs.size());
  EXPECT_EQ(order.front(), blobs.size() - 1);
}

TEST_F(RestoreTest, ManyThreadsRestoreIdenticalTrees) {
  std::string src = tmp_ / "src/app";
  for (int i = 0; i < 700; ++i)  // more than two batches of files
    testing::WriteFile(src + "/d" + std::to_string(i % 7) + "/f" + std::to_string(i),
                       RandomData(static_cast<size_t>(i * 131 % 70000), i));
  testing::WriteFile(src + "/big", RandomData(6 << 20, 99));
  // The same content twice in one file and across files: one blob, several targets.
  Bytes twice = RandomData(100000, 5);
  Bytes doubled = twice;
  doubled.insert(doubled.end(), twice.begin(), twice.end());
  testing::WriteFile(src + "/twice", doubled);
  testing::WriteFile(src + "/twice-copy", doubled);
  auto r = BackupPaths(repo_.get(), {src}, BackupOptions{}, nullptr);
  ASSERT_TRUE(r.ok());
  for (int threads : {1, 3, 8, 16}) {
    RestoreOptions ro;
    ro.threads = threads;
    ro.target = tmp_ / ("out" + std::to_string(threads));
    auto rr = RestoreToDir(repo_.get(), r->snapshot, ro, nullptr);
    ASSERT_TRUE(rr.ok());
    EXPECT_EQ(rr->files, 703u);
    EXPECT_EQ(testing::Describe(src), testing::Describe(ro.target + "/app")) << threads << " threads";
  }
}

TEST_F(RestoreTest, StdoutKeepsOrderWithManyThreads) {
  Bytes data = RandomData(5 << 20, 3);
  MemReader reader(data);
  auto r = BackupStream(repo_.get(), &reader, "db.dump", BackupOptions{}, nullptr, nullptr);
  ASSERT_TRUE(r.ok());
  for (int threads : {1, 4, 16}) {
    std::string out = tmp_ / ("out" + std::to_string(threads));
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    auto n = RestoreToFd(repo_.get(), r->snapshot, "", fd, threads);
    close(fd);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(testing::ReadFile(out), data) << threads << " threads";
  }
}

TEST_F(RestoreTest, ZeroRegionsBecomeHoles) {
  std::string src = tmp_ / "src/vm";
  Bytes sparse(16 << 20, 0);
  Bytes head = RandomData(100000, 1), tail = RandomData(100000, 2);
  std::copy(head.begin(), head.end(), sparse.begin());
  std::copy(tail.begin(), tail.end(), sparse.end() - static_cast<ptrdiff_t>(tail.size()));
  testing::WriteFile(src + "/disk.img", sparse);
  auto r = BackupPaths(repo_.get(), {src}, BackupOptions{}, nullptr);
  ASSERT_TRUE(r.ok());
  RestoreOptions ro;
  ro.target = tmp_ / "out";
  ASSERT_TRUE(RestoreToDir(repo_.get(), r->snapshot, ro, nullptr).ok());
  std::string restored = tmp_ / "out/vm/disk.img";
  EXPECT_EQ(testing::ReadFile(restored), sparse);
  struct stat st;
  ASSERT_EQ(stat(restored.c_str(), &st), 0);
  // Allocated space covers the data, not the 16 MiB of zeros (allow a chunk of slack per end).
  EXPECT_LT(static_cast<uint64_t>(st.st_blocks) * 512, 1u << 20) << "allocated " << st.st_blocks * 512;
}

// Peak resident memory of this process, after resetting the peak (Linux: clear_refs 5).
void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }
uint64_t PeakRssBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

// An endless-looking input that never repeats, generated as it is read.
class GeneratedReader : public Reader {
 public:
  explicit GeneratedReader(uint64_t total) : left_(total) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    n = static_cast<size_t>(std::min<uint64_t>(n, left_));
    for (size_t i = 0; i < n; ++i) {
      s_ ^= s_ << 13;
      s_ ^= s_ >> 7;
      s_ ^= s_ << 17;
      buf[i] = static_cast<uint8_t>(s_);
    }
    left_ -= n;
    return n;
  }

 private:
  uint64_t left_, s_ = 88172645463325252ull;
};

TEST_F(RestoreTest, MemoryStaysBoundedOnALargeStream) {
  const uint64_t kInput = 384ull << 20;
  ResetPeakRss();
  uint64_t before = PeakRssBytes();
  GeneratedReader reader(kInput);
  BackupOptions bo;
  bo.threads = 4;
  auto r = BackupStream(repo_.get(), &reader, "big.dump", bo, nullptr, nullptr);
  ASSERT_TRUE(r.ok());
  uint64_t backup_peak = PeakRssBytes();
  // Bounded by queues and one pack per blob type, not by the input: far below its size.
  EXPECT_LT(backup_peak - before, 96ull << 20) << "peak grew by " << (backup_peak - before);
  ResetPeakRss();
  before = PeakRssBytes();
  RestoreOptions ro;
  ro.decode_only = true;
  ro.threads = 4;
  auto rr = RestoreToDir(repo_.get(), r->snapshot, ro, nullptr);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(rr->bytes, kInput);
  EXPECT_LT(PeakRssBytes() - before, 128ull << 20);
}

TEST_F(RestoreTest, BenchRestoreReportsMedians) {
  Bytes data = RandomData(2 << 20, 4);
  MemReader reader(data);
  auto r = BackupStream(repo_.get(), &reader, "x", BackupOptions{}, nullptr, nullptr);
  ASSERT_TRUE(r.ok());
  RestoreBenchOptions o;
  o.threads = {1, 2};
  o.repeat = 3;
  int drops = 0;
  o.drop_caches = [&] {
    ++drops;
    return Status::OK();
  };
  auto rows = BenchRestore(repo_.get(), r->snapshot, o);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 4u);  // 2 thread counts x cold, warm
  EXPECT_EQ(drops, 6);
  for (const auto& row : *rows) {
    EXPECT_EQ(row.bytes, data.size());
    EXPECT_EQ(row.seconds.size(), 3u);
    EXPECT_GT(row.median_mb_per_s, 0);
  }
}

}  // namespace
}  // namespace cairn
