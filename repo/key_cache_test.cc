// The master key cached in the kernel keyring, and opening a repository with a key at hand.
#include "repo/key_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "repo/repository.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::TestInitOptions;

bool SameKey(const MasterKey& a, const MasterKey& b) {
  return a.encryption_key == b.encryption_key && a.id_key == b.id_key && a.chunker_key == b.chunker_key;
}

// A name no other test run uses.
std::string FreshRepoId() { return "test-" + ToHex(RandomBytes(16)); }

class KeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    id_ = FreshRepoId();
    Status s = CacheMasterKey(id_, key_, 60);
    // A container's seccomp profile may forbid keyctl: the cache is then simply not used.
    if (s.code() == Code::kIOError) GTEST_SKIP() << "no kernel keyring here: " << s.message();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void TearDown() override { (void)ForgetCachedMasterKey(id_); }

  std::string id_;
  MasterKey key_ = MasterKey::Generate();
};

TEST_F(KeyCacheTest, CachedKeyComesBackUntilForgotten) {
  std::optional<MasterKey> got = CachedMasterKey(id_);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(SameKey(*got, key_));
  EXPECT_FALSE(CachedMasterKey(FreshRepoId()).has_value()) << "another repository has no key";
  Result<bool> removed = ForgetCachedMasterKey(id_);
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(*removed);
  EXPECT_FALSE(CachedMasterKey(id_).has_value());
  removed = ForgetCachedMasterKey(id_);
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(*removed);
}

TEST_F(KeyCacheTest, CachingAgainReplacesTheKey) {
  MasterKey other = MasterKey::Generate();
  ASSERT_TRUE(CacheMasterKey(id_, other, 60).ok());
  std::optional<MasterKey> got = CachedMasterKey(id_);
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(SameKey(*got, other));
}

TEST_F(KeyCacheTest, KeyExpiresAfterItsLifetime) {
  ASSERT_TRUE(CacheMasterKey(id_, key_, 1).ok());
  sleep(2);
  EXPECT_FALSE(CachedMasterKey(id_).has_value());
}

TEST(OpenWithKeyTest, OpensWithTheRepositoryKeyOnly) {
  TempDir tmp;
  auto backend = OpenLocalBackend(tmp / "repo", true);
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE(Repository::Init(backend->get(), "pw", TestInitOptions()).ok());
  Result<MasterKey> key = LoadMasterKey(backend->get(), "pw");
  ASSERT_TRUE(key.ok());
  auto open = [&](const MasterKey& k) {
    auto b = OpenLocalBackend(tmp / "repo", false);
    EXPECT_TRUE(b.ok());
    return Repository::OpenWithKey(std::move(b).value(), k, OpenOptions{tmp / "cache"});
  };
  Result<std::unique_ptr<Repository>> repo = open(*key);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  Result<SaveResult> saved = (*repo)->SaveBlob(BlobType::kData, AsBytes("hello"));
  ASSERT_TRUE(saved.ok());
  ASSERT_TRUE((*repo)->Flush().ok());
  Result<Bytes> back = (*repo)->LoadBlob(BlobType::kData, saved->id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), "hello");
  repo->reset();

  Result<std::unique_ptr<Repository>> wrong = open(MasterKey::Generate());
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace cairn
