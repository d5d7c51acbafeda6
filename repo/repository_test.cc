// Repository-level behaviour: init/open, keys, dedup, index rebuild, failing backends.
#include "repo/repository.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "repo/backup.h"
#include "repo/restore.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

using testing::RandomData;
using testing::TempDir;
using testing::TestInitOptions;

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = OpenLocalBackend(tmp_ / "repo", true);
    ASSERT_TRUE(backend.ok()) << backend.status().ToString();
    ASSERT_TRUE(Repository::Init(backend->get(), "pw", TestInitOptions()).ok());
  }

  Result<std::unique_ptr<Repository>> OpenRepo(const std::string& password = "pw",
                                               const std::string& cache = "cache") {
    ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenLocalBackend(tmp_ / "repo", false));
    return Repository::Open(std::move(backend), password, OpenOptions{tmp_ / cache});
  }

  Result<BackupResult> Stream(Repository* repo, ByteView data, const std::string& name = "db.dump") {
    MemReader reader(data);
    return BackupStream(repo, &reader, name, BackupOptions{}, nullptr, nullptr);
  }

  Bytes Restore(Repository* repo, const Snapshot& snap) {
    std::string out = tmp_ / "out.bin";
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    Result<uint64_t> n = RestoreToFd(repo, snap, "", fd);
    close(fd);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return testing::ReadFile(out);
  }

  TempDir tmp_;
};

TEST_F(RepositoryTest, OpensWithRightPasswordOnly) {
  ASSERT_TRUE(OpenRepo().ok());
  auto wrong = OpenRepo("not-it");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kWrongPassword);
  EXPECT_NE(wrong.status().message().find("password"), std::string::npos);
}

TEST_F(RepositoryTest, InitRefusesExistingRepository) {
  auto backend = OpenLocalBackend(tmp_ / "repo", false);
  ASSERT_TRUE(backend.ok());
  Status s = Repository::Init(backend->get(), "pw", TestInitOptions());
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
}

TEST_F(RepositoryTest, MissingRepositoryIsRepoNotFound) {
  auto backend = OpenLocalBackend(tmp_ / "nothing-here", false);
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), Code::kRepoNotFound);
}

TEST_F(RepositoryTest, TamperedConfigIsRejected) {
  std::string path = tmp_ / "repo/config";
  Bytes config = testing::ReadFile(path);
  std::string s(config.begin(), config.end());
  std::string level = "\"level\": " + std::to_string(kDefaultCompressionLevel);
  size_t pos = s.find(level);
  ASSERT_NE(pos, std::string::npos);
  s.replace(pos, level.size(), "\"level\": 9");
  testing::WriteFile(path, AsBytes(s));
  auto repo = OpenRepo();
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), Code::kCorruption);
}

TEST_F(RepositoryTest, StreamRoundTripAndDedupAcrossSnapshots) {
  auto repo = OpenRepo();
  ASSERT_TRUE(repo.ok());
  Bytes data = RandomData(4 << 20, 1);
  auto first = Stream(repo->get(), data);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->snapshot.stats.bytes_raw, data.size());
  EXPECT_GE(first->snapshot.stats.bytes_added_raw, data.size());
  EXPECT_EQ(Restore(repo->get(), first->snapshot), data);

  // The same stream again adds no data blob, only its tree (the stream's node has a new mtime).
  auto second = Stream(repo->get(), data);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->snapshot.stats.blobs_added, 1u);

  // 100 bytes inserted near the start: only the chunks around the change are new.
  Bytes changed = data;
  Bytes insert = RandomData(100, 7);
  changed.insert(changed.begin() + 5000, insert.begin(), insert.end());
  auto third = Stream(repo->get(), changed);
  ASSERT_TRUE(third.ok());
  EXPECT_LT(third->snapshot.stats.bytes_added_raw, 128u * 1024);
  EXPECT_EQ(Restore(repo->get(), third->snapshot), changed);

  auto all = (*repo)->ListSnapshots();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST_F(RepositoryTest, DataSurvivesReopenAndFindSnapshotResolvesRefs) {
  Bytes data = RandomData(300000, 2);
  Id id;
  {
    auto repo = OpenRepo();
    ASSERT_TRUE(repo.ok());
    auto r = Stream(repo->get(), data);
    ASSERT_TRUE(r.ok());
    id = r->snapshot_id;
  }
  auto repo = OpenRepo();
  ASSERT_TRUE(repo.ok());
  auto latest = (*repo)->FindSnapshot("latest");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->id, id);
  auto by_prefix = (*repo)->FindSnapshot(id.Hex().substr(0, 6));
  ASSERT_TRUE(by_prefix.ok());
  EXPECT_EQ(by_prefix->id, id);
  EXPECT_EQ((*repo)->FindSnapshot("ffffffffffff").status().code(), Code::kNotFound);
  EXPECT_EQ((*repo)->FindSnapshot("../x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Restore(repo->get(), latest->snapshot), data);
}

TEST_F(RepositoryTest, UnencryptedRepositoryNeedsNoPassword) {
  auto backend = OpenLocalBackend(tmp_ / "plain", true);
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE(Repository::Init(backend->get(), "", TestInitOptions(false)).ok());
  auto reopened = OpenLocalBackend(tmp_ / "plain", false);
  ASSERT_TRUE(reopened.ok());
  auto repo = Repository::Open(std::move(reopened).value(), "", OpenOptions{tmp_ / "c2"});
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_FALSE((*repo)->config().encrypted);
  Bytes data = RandomData(100000, 3);
  auto r = Stream(repo->get(), data);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Restore(repo->get(), r->snapshot), data);
}

TEST_F(RepositoryTest, DeletedCacheIsRebuiltFromIndexFiles) {
  Bytes data = RandomData(3 << 20, 4);
  {
    auto repo = OpenRepo();
    ASSERT_TRUE(repo.ok());
    ASSERT_TRUE(Stream(repo->get(), data).ok());
  }
  std::filesystem::remove_all(tmp_ / "cache");
  auto repo = OpenRepo();
  ASSERT_TRUE(repo.ok());
  auto snap = (*repo)->FindSnapshot("latest");
  ASSERT_TRUE(snap.ok());
  EXPECT_EQ(Restore(repo->get(), snap->snapshot), data);
}

TEST_F(RepositoryTest, RebuildFromPacksRecoversLostIndexFiles) {
  Bytes data = RandomData(3 << 20, 5);
  {
    auto repo = OpenRepo();
    ASSERT_TRUE(repo.ok());
    ASSERT_TRUE(Stream(repo->get(), data).ok());
  }
  for (auto& e : std::filesystem::directory_iterator(tmp_ / "repo/index")) std::filesystem::remove(e);
  std::filesystem::remove_all(tmp_ / "cache");
  auto repo = OpenRepo();
  ASSERT_TRUE(repo.ok());
  auto snap = (*repo)->FindSnapshot("latest");
  ASSERT_TRUE(snap.ok());
  // Without index files the blobs are unknown...
  EXPECT_EQ((*repo)->LoadTree(snap->snapshot.tree).status().code(), Code::kCorruption);
  // ...until the packs' own trailers are read.
  auto stats = (*repo)->RebuildIndex(true);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->packs, 1u);
  EXPECT_EQ(stats->index_files_written, 1u);
  EXPECT_TRUE(stats->problems.empty());
  EXPECT_EQ(Restore(repo->get(), snap->snapshot), data);
  // And the new index file serves a fresh cache.
  repo->reset();
  std::filesystem::remove_all(tmp_ / "cache");
  auto again = OpenRepo();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Restore(again->get(), snap->snapshot), data);
  auto from_files = (*again)->RebuildIndex(false);
  ASSERT_TRUE(from_files.ok());
  EXPECT_EQ(from_files->blobs, stats->blobs);
}

TEST_F(RepositoryTest, FailingBackendMidSnapshotCommitsNothing) {
  Bytes data = RandomData(4 << 20, 6);
  for (int fail_after : {0, 1, 2}) {
    auto base = OpenLocalBackend(tmp_ / "repo", false);
    ASSERT_TRUE(base.ok());
    FaultPlan plan;
    plan.fail_put_after = fail_after;
    auto faulty = std::make_unique<FaultyBackend>(base->get(), plan);
    auto repo = Repository::Open(std::move(faulty), "pw", OpenOptions{tmp_ / "cache"});
    ASSERT_TRUE(repo.ok());
    auto r = Stream(repo->get(), data);
    ASSERT_FALSE(r.ok()) << "fail_after=" << fail_after;
    EXPECT_NE(r.status().message().find("injected fault"), std::string::npos) << r.status().ToString();
    auto all = (*repo)->ListSnapshots();
    ASSERT_TRUE(all.ok());
    EXPECT_TRUE(all->empty());
  }
  // The snapshot object itself failing: everything else was written, still no snapshot.
  {
    auto base = OpenLocalBackend(tmp_ / "repo", false);
    FaultPlan plan;
    plan.fail_put_after = 0;
    plan.fail_put_any_type = false;
    plan.fail_put_type = ObjectType::kSnapshot;
    plan.fail_code = Code::kNoSpace;
    auto repo = Repository::Open(std::make_unique<FaultyBackend>(base->get(), plan), "pw",
                                 OpenOptions{tmp_ / "cache"});
    ASSERT_TRUE(repo.ok());
    auto r = Stream(repo->get(), data);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kNoSpace);
  }
  // The repository stays usable: a later snapshot succeeds and restores.
  auto repo = OpenRepo();
  ASSERT_TRUE(repo.ok());
  auto all = (*repo)->ListSnapshots();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  auto r = Stream(repo->get(), data);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Restore(repo->get(), r->snapshot), data);
}

TEST_F(RepositoryTest, ProducerFailureLeavesNoSnapshot) {
  auto repo = OpenRepo();
  ASSERT_TRUE(repo.ok());
  Bytes data = RandomData(1 << 20, 8);
  MemReader reader(data);
  auto r = BackupStream(repo->get(), &reader, "db.dump", BackupOptions{}, nullptr,
                        [] { return Status::Aborted("pg_dump exited with status 1"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAborted);
  auto all = (*repo)->ListSnapshots();
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(RepositoryTest, TwoWritersOnOneMachineBothSucceed) {
  // The second opener finds the index database locked and shares it read-only.
  auto a = OpenRepo();
  ASSERT_TRUE(a.ok());
  auto b = OpenRepo();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Bytes da = RandomData(2 << 20, 9), db = RandomData(2 << 20, 10);
  auto ra = Stream(a->get(), da, "a.dump");
  auto rb = Stream(b->get(), db, "b.dump");
  ASSERT_TRUE(ra.ok());
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(Restore(b->get(), rb->snapshot), db);
  // Each sees the other's work after syncing its index.
  ASSERT_TRUE((*a)->SyncIndex().ok());
  EXPECT_EQ(Restore(a->get(), rb->snapshot), db);
  ASSERT_TRUE((*b)->SyncIndex().ok());
  EXPECT_EQ(Restore(b->get(), ra->snapshot), da);
}

// A process that shares another's index database read-only, and finds that an index file has
// gone since that database was synced (a prune dropped and deleted a pack), must not trust the
// database's rows: deduplicating against them would commit a snapshot whose data is gone.
TEST_F(RepositoryTest, SharedIndexClearedByAPruneIsNotTrusted) {
  Bytes data = RandomData(1 << 20, 21);
  {
    auto first = OpenRepo();
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE(Stream(first->get(), data, "old.dump").ok());
  }  // closed: its rows are in the database's files, where a read-only opener sees them
  auto a = OpenRepo();  // holds the index database
  ASSERT_TRUE(a.ok());
  // What prune does to unreferenced data, done by hand: the snapshot, its index file and its
  // packs go away; the database `a` holds still has their rows.
  for (const char* folder : {"snapshots", "index", "data"})
    for (const auto& e : std::filesystem::recursive_directory_iterator(std::filesystem::path(tmp_ / "repo") / folder))
      if (e.is_regular_file()) std::filesystem::remove(e.path());

  auto b = OpenRepo();  // shares the database read-only, and clears it: an index file vanished
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto r = Stream(b->get(), data, "new.dump");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->snapshot.stats.blobs_added, 1u) << "the data was stored again, not deduplicated";
  EXPECT_EQ(Restore(b->get(), r->snapshot), data);
}

}  // namespace
}  // namespace cairn
