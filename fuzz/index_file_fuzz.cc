// DecodeIndexFile on arbitrary plaintext (what an index file envelope could hold). Every blob it
// accepts must lie inside its pack, since reads are planned from these entries.
#include "fuzz/fuzz_util.h"
#include "repo/format.h"
#include "repo/index_file.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<std::vector<IndexedPack>> packs = DecodeIndexFile(FuzzInput(data, size));
  if (!packs.ok()) return 0;
  for (const IndexedPack& p : *packs) {
    for (const BlobEntry& e : p.blobs) {
      FUZZ_CHECK(e.offset >= kPackMagicSize && e.offset <= p.pack_size);
      FUZZ_CHECK(e.length <= p.pack_size - e.offset);
      FUZZ_CHECK(e.raw_length <= kMaxBlobRawSize);
    }
  }
  Bytes encoded = EncodeIndexFile(*packs);
  FUZZ_CHECK(encoded.size() <= size);
  Result<std::vector<IndexedPack>> again = DecodeIndexFile(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(EncodeIndexFile(*again) == encoded);
  return 0;
}
