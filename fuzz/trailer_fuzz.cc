// DecodeTrailer on arbitrary plaintext (what a pack trailer envelope could hold), against a
// few blob-area ends: every entry it accepts lies inside the blob area and none overlap.
#include <algorithm>
#include <limits>

#include "fuzz/fuzz_util.h"
#include "repo/format.h"
#include "repo/pack.h"

using namespace cairn;

namespace {

void CheckEntries(const std::vector<BlobEntry>& entries, uint64_t blob_area_end) {
  std::vector<BlobEntry> sorted = entries;
  std::sort(sorted.begin(), sorted.end(),
            [](const BlobEntry& a, const BlobEntry& b) { return a.offset < b.offset; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    const BlobEntry& e = sorted[i];
    FUZZ_CHECK(e.offset >= kPackMagicSize && e.offset <= blob_area_end);
    FUZZ_CHECK(e.length <= blob_area_end - e.offset);
    FUZZ_CHECK(e.length >= Sealer::kOverhead && e.raw_length <= kMaxBlobRawSize);
    FUZZ_CHECK(i == 0 || sorted[i - 1].offset + sorted[i - 1].length <= e.offset);
  }
}

Bytes Encode(const std::vector<BlobEntry>& entries) {
  Encoder enc;
  enc.U8(kPackTrailerVersion);
  enc.Varint(entries.size());
  for (const BlobEntry& e : entries) EncodeBlobEntry(e, &enc);
  return enc.Take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 5460: the blob area of the golden trailer; 1 MiB: a small pack; the largest end there is.
  for (uint64_t end : {uint64_t{5460}, uint64_t{1} << 20, std::numeric_limits<uint64_t>::max()}) {
    Result<std::vector<BlobEntry>> entries = DecodeTrailer(FuzzInput(data, size), end);
    if (!entries.ok()) continue;
    CheckEntries(*entries, end);
    Bytes encoded = Encode(*entries);
    FUZZ_CHECK(encoded.size() <= size);
    Result<std::vector<BlobEntry>> again = DecodeTrailer(encoded, end);
    FUZZ_CHECK(again.ok() && Encode(*again) == encoded);
  }
  return 0;
}
