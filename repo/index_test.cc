// Index: batched lookups answer exactly as single ones, in the database and in the read-only
// overlay of a database another user holds.
#include "repo/index.h"

#include <gtest/gtest.h>

#include "repo/index_file.h"
#include "repo/test_util.h"

namespace cairn {
namespace {

Id MakeId(uint8_t a, uint8_t b) {
  Id id;
  id.bytes.fill(a);
  id.bytes[1] = b;
  return id;
}

IndexedPack Pack(uint8_t tag, int blobs) {
  IndexedPack p;
  p.pack_id = MakeId(tag, 0);
  p.pack_size = 1000;
  for (int i = 0; i < blobs; ++i) {
    BlobEntry e;
    e.id = MakeId(static_cast<uint8_t>(tag + 1 + i), static_cast<uint8_t>(i));
    e.offset = 10u * i;
    e.length = 10;
    e.raw_length = 10;
    p.blobs.push_back(e);
  }
  return p;
}

void ExpectSameAsLookup(Index* index, const std::vector<Id>& ids) {
  auto many = index->LookupMany(BlobType::kData, ids);
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  ASSERT_EQ(many->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto one = index->Lookup(BlobType::kData, ids[i]);
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->has_value(), (*many)[i].has_value()) << i;
    if (*one) {
      EXPECT_EQ((*one)->pack, (*many)[i]->pack) << i;
      EXPECT_EQ((*one)->entry, (*many)[i]->entry) << i;
    }
  }
}

TEST(IndexTest, LookupManyAnswersEachIdInItsPlaceFoundOrNot) {
  testing::TempDir tmp;
  auto index = Index::Open(tmp / "index");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  IndexedPack p = Pack(100, 5);
  ASSERT_TRUE((*index)->AddPacks({p}).ok());
  // Unsorted, with misses and a repeat.
  std::vector<Id> ids = {p.blobs[3].id, MakeId(7, 7), p.blobs[0].id, p.blobs[4].id, p.blobs[3].id, MakeId(200, 1)};
  auto many = (*index)->LookupMany(BlobType::kData, ids);
  ASSERT_TRUE(many.ok());
  ASSERT_TRUE((*many)[0].has_value());
  EXPECT_EQ((*many)[0]->entry.offset, 30u);
  EXPECT_FALSE((*many)[1].has_value());
  EXPECT_EQ((*many)[2]->entry.offset, 0u);
  EXPECT_FALSE((*many)[5].has_value());
  EXPECT_FALSE((*index)->LookupMany(BlobType::kTree, {p.blobs[0].id})->at(0).has_value()) << "types apart";
  ExpectSameAsLookup(index->get(), ids);
  EXPECT_TRUE((*index)->LookupMany(BlobType::kData, {})->empty());
}

TEST(IndexTest, LookupManySeesTheOverlayOfASharedDatabase) {
  testing::TempDir tmp;
  auto owner = Index::Open(tmp / "index");
  ASSERT_TRUE(owner.ok());
  IndexedPack stored = Pack(100, 3);
  ASSERT_TRUE((*owner)->AddPacks({stored}).ok());
  auto shared = Index::Open(tmp / "index");  // held by `owner`: shared read-only
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  ASSERT_TRUE((*shared)->read_only());
  IndexedPack added = Pack(50, 2);
  ASSERT_TRUE((*shared)->AddPacks({added}).ok());  // into its overlay
  std::vector<Id> ids = {added.blobs[1].id, stored.blobs[2].id, MakeId(9, 9)};
  auto many = (*shared)->LookupMany(BlobType::kData, ids);
  ASSERT_TRUE(many.ok());
  ASSERT_TRUE((*many)[0].has_value());
  EXPECT_EQ((*many)[0]->pack, added.pack_id);
  EXPECT_FALSE((*many)[2].has_value());
  // The owner's rows (unflushed here) are answered as Lookup answers them.
  ExpectSameAsLookup(shared->get(), ids);
}

// PersistSoon writes in the background while lookups and writes go on; nothing is lost or
// changed, before or after a reopen.
TEST(IndexTest, EntriesSurvivePersistSoonFurtherWritesAndAReopen) {
  testing::TempDir tmp;
  IndexedPack first = Pack(10, 40), second = Pack(60, 40);
  {
    auto index = Index::Open(tmp / "index");
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    ASSERT_TRUE((*index)->AddIndexFile(MakeId(1, 1), {first}).ok());
    (*index)->PersistSoon();
    ExpectSameAsLookup(index->get(), {first.blobs[0].id, first.blobs[39].id});
    ASSERT_TRUE((*index)->AddIndexFile(MakeId(2, 2), {second}).ok());
    (*index)->PersistSoon();
  }
  auto index = Index::Open(tmp / "index");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ((*index)->IndexFiles()->size(), 2u);
  for (const IndexedPack* p : {&first, &second})
    for (const BlobEntry& e : p->blobs) {
      auto loc = (*index)->Lookup(BlobType::kData, e.id);
      ASSERT_TRUE(loc.ok() && loc->has_value());
      EXPECT_EQ((*loc)->pack, p->pack_id);
      EXPECT_EQ((*loc)->entry, e);
    }
}

}  // namespace
}  // namespace cairn
