// BackendTest is the suite every backend must pass; FaultyBackendTest covers fault injection.
// The local backend's own promises are tested in local_backend_test.cc.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/backend.h"
#include "store/backend_test_util.h"

namespace cairn {
namespace {

using testing_util::HexName;
using testing_util::ListAll;
using testing_util::Pattern;
using testing_util::TempDir;

const ObjectType kAllTypes[] = {ObjectType::kConfig, ObjectType::kKey,      ObjectType::kData,
                                ObjectType::kIndex,  ObjectType::kSnapshot, ObjectType::kLock};
const ObjectType kNamedTypes[] = {ObjectType::kKey, ObjectType::kData, ObjectType::kIndex,
                                  ObjectType::kSnapshot, ObjectType::kLock};

ObjectName NameFor(ObjectType t, uint32_t i) {
  return {t, t == ObjectType::kConfig ? "" : HexName(i)};
}

// ---------------------------------------------------------------------------------------------
// The suite every backend passes.

enum class Kind { kLocal, kMem, kFaultyMem };

class BackendTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Kind::kLocal: {
        ASSERT_FALSE(dir_.path().empty());
        auto r = OpenLocalBackend(dir_.path() + "/repo", /*create=*/true);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        backend_ = std::move(r).value();
        break;
      }
      case Kind::kMem:
        backend_ = NewMemBackend();
        break;
      case Kind::kFaultyMem:
        // A plan that never fires must be invisible.
        base_ = NewMemBackend();
        backend_ = std::make_unique<FaultyBackend>(base_.get(), FaultPlan{});
        break;
    }
  }

  Backend* b() { return backend_.get(); }

  TempDir dir_;
  std::unique_ptr<Backend> base_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(BackendTest, RoundTripEachType) {
  for (ObjectType t : kAllTypes) {
    SCOPED_TRACE(ObjectTypeName(t));
    ObjectName obj = NameFor(t, 1);
    Bytes data = Pattern(1000 + static_cast<size_t>(t), static_cast<uint8_t>(t));
    ASSERT_TRUE(b()->Put(obj, data).ok());
    auto got = b()->Get(obj);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, data);
    auto size = b()->Stat(obj);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(*size, data.size());
  }
}

TEST_P(BackendTest, EmptyAndLargeObjects) {
  ObjectName empty{ObjectType::kIndex, "00"};
  ASSERT_TRUE(b()->Put(empty, {}).ok());
  auto got = b()->Get(empty);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());

  ObjectName large{ObjectType::kData, HexName(7)};
  Bytes data = Pattern(3 << 20, 9);
  ASSERT_TRUE(b()->Put(large, data).ok());
  got = b()->Get(large);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);
}

TEST_P(BackendTest, OverwriteReplaces) {
  ObjectName obj{ObjectType::kSnapshot, HexName(3)};
  ASSERT_TRUE(b()->Put(obj, Pattern(500, 1)).ok());
  ASSERT_TRUE(b()->Put(obj, Pattern(20, 2)).ok());
  auto got = b()->Get(obj);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Pattern(20, 2));
  EXPECT_EQ(ListAll(b(), ObjectType::kSnapshot), (std::map<std::string, uint64_t>{{obj.name, 20}}));
}

TEST_P(BackendTest, MissingIsNotFound) {
  for (ObjectType t : kAllTypes) {
    SCOPED_TRACE(ObjectTypeName(t));
    ObjectName obj = NameFor(t, 2);
    EXPECT_EQ(b()->Get(obj).status().code(), Code::kNotFound);
    EXPECT_EQ(b()->GetRange(obj, 0, 1).status().code(), Code::kNotFound);
    EXPECT_EQ(b()->Stat(obj).status().code(), Code::kNotFound);
  }
}

TEST_P(BackendTest, GetRange) {
  ObjectName obj{ObjectType::kData, HexName(4)};
  Bytes data = Pattern(4096, 4);
  ASSERT_TRUE(b()->Put(obj, data).ok());

  auto mid = b()->GetRange(obj, 100, 200);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(*mid, Bytes(data.begin() + 100, data.begin() + 300));
  auto tail = b()->GetRange(obj, 4000, 96);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, Bytes(data.begin() + 4000, data.end()));
  auto at_end = b()->GetRange(obj, 4096, 0);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());

  EXPECT_EQ(b()->GetRange(obj, 4000, 97).status().code(), Code::kCorruption);
  EXPECT_EQ(b()->GetRange(obj, 5000, 1).status().code(), Code::kCorruption);
  EXPECT_EQ(b()->GetRange(obj, 4097, 0).status().code(), Code::kCorruption);
  // offset + length overflows: must not wrap around into a "valid" range.
  EXPECT_EQ(b()->GetRange(obj, 10, UINT64_MAX - 5).status().code(), Code::kCorruption);
  EXPECT_EQ(b()->GetRange(obj, 0, UINT64_MAX).status().code(), Code::kCorruption);
}

TEST_P(BackendTest, GetRangeIntoReusesTheScratch) {
  ObjectName obj{ObjectType::kData, HexName(5)};
  Bytes data = Pattern(4096, 5);
  ASSERT_TRUE(b()->Put(obj, data).ok());
  Bytes scratch;
  ASSERT_TRUE(b()->GetRangeInto(obj, 0, 4096, &scratch).ok());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), scratch.begin()));
  ASSERT_TRUE(b()->GetRangeInto(obj, 100, 200, &scratch).ok());
  EXPECT_TRUE(std::equal(data.begin() + 100, data.begin() + 300, scratch.begin()));
  EXPECT_EQ(b()->GetRangeInto(obj, 4000, 97, &scratch).code(), Code::kCorruption);
  EXPECT_EQ(b()->GetRangeInto(obj, 0, UINT64_MAX, &scratch).code(), Code::kCorruption);
  EXPECT_EQ(b()->GetRangeInto({ObjectType::kData, HexName(6)}, 0, 1, &scratch).code(), Code::kNotFound);
  // Only a hint: harmless on a present object, a missing one, or past the end.
  b()->Prefetch(obj, 0, 4096);
  b()->Prefetch({ObjectType::kData, HexName(6)}, 0, 1);
  b()->Prefetch(obj, 1 << 20, 10);
}

TEST_P(BackendTest, ListReturnsExactlyWhatWasPut) {
  std::map<ObjectType, std::map<std::string, uint64_t>> want;
  uint32_t i = 0;
  for (ObjectType t : kNamedTypes) {
    for (int k = 0; k < 20; k++, i++) {
      ObjectName obj{t, HexName(i, 2 + i % 70)};
      Bytes data = Pattern(i * 7, static_cast<uint8_t>(i));
      ASSERT_TRUE(b()->Put(obj, data).ok());
      want[t][obj.name] = data.size();
    }
  }
  EXPECT_TRUE(ListAll(b(), ObjectType::kConfig).empty());
  ASSERT_TRUE(b()->Put({ObjectType::kConfig, ""}, Pattern(33, 0)).ok());
  want[ObjectType::kConfig][""] = 33;
  for (ObjectType t : kAllTypes) {
    SCOPED_TRACE(ObjectTypeName(t));
    EXPECT_EQ(ListAll(b(), t), want[t]);
  }
}

TEST_P(BackendTest, ListStopsOnCallbackError) {
  for (uint32_t i = 0; i < 5; i++) ASSERT_TRUE(b()->Put({ObjectType::kLock, HexName(i)}, {}).ok());
  int calls = 0;
  Status st = b()->List(ObjectType::kLock, [&](const std::string&, uint64_t) {
    calls++;
    return Status::Aborted("stop");
  });
  EXPECT_EQ(st.code(), Code::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST_P(BackendTest, ListCallbackMayUseBackend) {
  for (uint32_t i = 0; i < 5; i++) {
    ASSERT_TRUE(b()->Put({ObjectType::kIndex, HexName(i)}, Pattern(i, 0)).ok());
  }
  Status st = b()->List(ObjectType::kIndex, [&](const std::string& name, uint64_t size) {
    auto got = b()->Get({ObjectType::kIndex, name});
    if (!got.ok()) return got.status();
    EXPECT_EQ(got->size(), size);
    return b()->Delete({ObjectType::kIndex, name});
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ListAll(b(), ObjectType::kIndex).empty());
}

TEST_P(BackendTest, Delete) {
  for (ObjectType t : kAllTypes) {
    SCOPED_TRACE(ObjectTypeName(t));
    ObjectName obj = NameFor(t, 5);
    ASSERT_TRUE(b()->Put(obj, Pattern(10, 5)).ok());
    ASSERT_TRUE(b()->Delete(obj).ok());
    EXPECT_EQ(b()->Get(obj).status().code(), Code::kNotFound);
    EXPECT_EQ(b()->Stat(obj).status().code(), Code::kNotFound);
    EXPECT_TRUE(ListAll(b(), t).empty());
    EXPECT_TRUE(b()->Delete(obj).ok()) << "deleting a missing object succeeds";
  }
}

TEST_P(BackendTest, ConcurrentPuts) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kPerThread; k++) {
        uint32_t i = static_cast<uint32_t>(t * kPerThread + k);
        if (!b()->Put({ObjectType::kData, HexName(i)}, Pattern(i, static_cast<uint8_t>(i))).ok()) {
          failures[t]++;
        }
        // Every thread also races on one shared name: the last Put wins whole.
        if (!b()->Put({ObjectType::kLock, "ab"}, Pattern(1000, static_cast<uint8_t>(t))).ok()) {
          failures[t]++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);

  auto listed = ListAll(b(), ObjectType::kData);
  ASSERT_EQ(listed.size(), size_t{kThreads * kPerThread});
  for (uint32_t i = 0; i < kThreads * kPerThread; i++) {
    auto got = b()->Get({ObjectType::kData, HexName(i)});
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, Pattern(i, static_cast<uint8_t>(i)));
  }
  auto shared = b()->Get({ObjectType::kLock, "ab"});
  ASSERT_TRUE(shared.ok());
  bool whole = false;
  for (int t = 0; t < kThreads; t++) whole |= *shared == Pattern(1000, static_cast<uint8_t>(t));
  EXPECT_TRUE(whole);
}

TEST_P(BackendTest, InvalidNamesRejectedByEveryCall) {
  std::vector<ObjectName> bad;
  for (ObjectType t : kNamedTypes) {
    for (std::string name : {"../x", "a/b", "ABC", "", "..", ".", "/etc/passwd", "0g", "ab.tmp",
                             " ab", "ab\n"}) {
      bad.push_back({t, name});
    }
    bad.push_back({t, std::string(kMaxObjectNameLength + 1, 'a')});
    bad.push_back({t, std::string("ab\0cd", 5)});
  }
  bad.push_back({ObjectType::kData, "a"});  // data needs two characters for its subfolder
  bad.push_back({ObjectType::kConfig, "ab"});
  bad.push_back({ObjectType::kConfig, "../config"});
  bad.push_back({static_cast<ObjectType>(99), "ab"});

  for (const ObjectName& obj : bad) {
    SCOPED_TRACE(std::string(ObjectTypeName(obj.type)) + " \"" + obj.name + "\"");
    EXPECT_EQ(ValidateObjectName(obj).code(), Code::kInvalidArgument);
    EXPECT_EQ(b()->Put(obj, Pattern(3, 0)).code(), Code::kInvalidArgument);
    EXPECT_EQ(b()->Get(obj).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(b()->GetRange(obj, 0, 1).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(b()->Stat(obj).status().code(), Code::kInvalidArgument);
    EXPECT_EQ(b()->Delete(obj).code(), Code::kInvalidArgument);
  }
  for (ObjectType t : kAllTypes) EXPECT_TRUE(ListAll(b(), t).empty());
}

TEST_P(BackendTest, LimitNamesAccepted) {
  std::vector<ObjectName> good = {{ObjectType::kKey, "0"},
                                  {ObjectType::kData, "00"},
                                  {ObjectType::kData, "ff"},
                                  {ObjectType::kSnapshot, std::string(kMaxObjectNameLength, 'f')},
                                  {ObjectType::kData, std::string(kMaxObjectNameLength, '9')}};
  for (const ObjectName& obj : good) {
    SCOPED_TRACE(obj.ToString());
    ASSERT_TRUE(b()->Put(obj, Pattern(5, 1)).ok());
    EXPECT_TRUE(b()->Get(obj).ok());
  }
}

INSTANTIATE_TEST_SUITE_P(All, BackendTest,
                         ::testing::Values(Kind::kLocal, Kind::kMem, Kind::kFaultyMem),
                         [](const ::testing::TestParamInfo<Kind>& info) {
                           switch (info.param) {
                             case Kind::kLocal: return "Local";
                             case Kind::kMem: return "Mem";
                             case Kind::kFaultyMem: return "FaultyMem";
                           }
                           return "Unknown";
                         });

TEST(BackendNameTest, Paths) {
  EXPECT_EQ((ObjectName{ObjectType::kConfig, ""}).ToString(), "config");
  EXPECT_EQ((ObjectName{ObjectType::kKey, "ab12"}).ToString(), "keys/ab12");
  EXPECT_EQ((ObjectName{ObjectType::kData, "3fa2"}).ToString(), "data/3f/3fa2");
  EXPECT_EQ((ObjectName{ObjectType::kIndex, "01"}).ToString(), "index/01");
  EXPECT_EQ((ObjectName{ObjectType::kSnapshot, "02"}).ToString(), "snapshots/02");
  EXPECT_EQ((ObjectName{ObjectType::kLock, "03"}).ToString(), "locks/03");
  EXPECT_STREQ(ObjectTypeName(ObjectType::kSnapshot), "snapshot");
}

// ---------------------------------------------------------------------------------------------
// FaultyBackend.

TEST(FaultyBackendTest, NthPutFailsAndStoresNothing) {
  auto base = NewMemBackend();
  FaultPlan plan;
  plan.fail_put_after = 2;
  plan.fail_code = Code::kNoSpace;
  FaultyBackend f(base.get(), plan);
  EXPECT_TRUE(f.Put({ObjectType::kData, "a0"}, Pattern(1, 0)).ok());
  EXPECT_TRUE(f.Put({ObjectType::kIndex, "a1"}, Pattern(1, 0)).ok());
  Status st = f.Put({ObjectType::kData, "a2"}, Pattern(1, 0));
  EXPECT_EQ(st.code(), Code::kNoSpace);
  EXPECT_EQ(st.message(), "injected fault: put data/a2/a2");
  EXPECT_EQ(f.Put({ObjectType::kKey, "a3"}, Pattern(1, 0)).code(), Code::kNoSpace);
  EXPECT_EQ(f.puts_seen(), 4);

  EXPECT_EQ(ListAll(base.get(), ObjectType::kData), (std::map<std::string, uint64_t>{{"a0", 1}}));
  EXPECT_EQ(ListAll(base.get(), ObjectType::kIndex), (std::map<std::string, uint64_t>{{"a1", 1}}));
  EXPECT_TRUE(ListAll(base.get(), ObjectType::kKey).empty());
  // Reads still work.
  EXPECT_TRUE(f.Get({ObjectType::kData, "a0"}).ok());
  EXPECT_EQ(f.Stat({ObjectType::kData, "a2"}).status().code(), Code::kNotFound);
}

TEST(FaultyBackendTest, OnlyChosenTypeCounts) {
  auto base = NewMemBackend();
  FaultPlan plan;
  plan.fail_put_after = 1;
  plan.fail_put_any_type = false;
  plan.fail_put_type = ObjectType::kIndex;
  plan.fail_code = Code::kIOError;
  FaultyBackend f(base.get(), plan);
  for (uint32_t i = 0; i < 5; i++) {
    EXPECT_TRUE(f.Put({ObjectType::kData, HexName(i)}, Pattern(3, 0)).ok());
  }
  EXPECT_EQ(f.puts_seen(), 0);
  EXPECT_TRUE(f.Put({ObjectType::kIndex, "01"}, Pattern(3, 0)).ok());
  EXPECT_EQ(f.Put({ObjectType::kIndex, "02"}, Pattern(3, 0)).code(), Code::kIOError);
  EXPECT_TRUE(f.Put({ObjectType::kSnapshot, "03"}, Pattern(3, 0)).ok());
  EXPECT_EQ(f.puts_seen(), 2);
  EXPECT_EQ(ListAll(base.get(), ObjectType::kData).size(), 5u);
  EXPECT_EQ(ListAll(base.get(), ObjectType::kIndex), (std::map<std::string, uint64_t>{{"01", 3}}));
  EXPECT_EQ(ListAll(base.get(), ObjectType::kSnapshot).size(), 1u);
}

TEST(FaultyBackendTest, GetFailures) {
  auto base = NewMemBackend();
  ASSERT_TRUE(base->Put({ObjectType::kData, "ab"}, Pattern(10, 0)).ok());
  FaultPlan plan;
  plan.fail_get_after = 1;
  plan.fail_code = Code::kCorruption;
  FaultyBackend f(base.get(), plan);
  EXPECT_TRUE(f.GetRange({ObjectType::kData, "ab"}, 0, 5).ok());
  auto failed = f.Get({ObjectType::kData, "ab"});
  EXPECT_EQ(failed.status().code(), Code::kCorruption);
  EXPECT_EQ(failed.status().message(), "injected fault: get data/ab/ab");
  EXPECT_EQ(f.GetRange({ObjectType::kData, "ab"}, 0, 5).status().code(), Code::kCorruption);
  // Other calls and Puts are not affected by a get plan.
  EXPECT_TRUE(f.Stat({ObjectType::kData, "ab"}).ok());
  EXPECT_EQ(ListAll(&f, ObjectType::kData).size(), 1u);
  EXPECT_TRUE(f.Put({ObjectType::kData, "cd"}, Pattern(1, 0)).ok());
  EXPECT_TRUE(f.Delete({ObjectType::kData, "cd"}).ok());
  EXPECT_EQ(f.Location(), base->Location());
}

TEST(FaultyBackendTest, ConcurrentPutsFailExactlyAfterN) {
  auto base = NewMemBackend();
  FaultPlan plan;
  plan.fail_put_after = 50;
  FaultyBackend f(base.get(), plan);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 25; k++) {
        if (f.Put({ObjectType::kData, HexName(static_cast<uint32_t>(t * 25 + k))}, {}).ok()) ok++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 50);
  EXPECT_EQ(f.puts_seen(), 100);
  EXPECT_EQ(ListAll(base.get(), ObjectType::kData).size(), 50u);
}

}  // namespace
}  // namespace cairn
