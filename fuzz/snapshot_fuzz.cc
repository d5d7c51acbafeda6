// DecodeSnapshot on arbitrary plaintext (what a snapshot envelope could hold).
#include "fuzz/fuzz_util.h"
#include "repo/snapshot.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<Snapshot> snap = DecodeSnapshot(FuzzInput(data, size));
  if (!snap.ok()) return 0;
  Bytes encoded = EncodeSnapshot(*snap);
  FUZZ_CHECK(encoded.size() <= size);
  Result<Snapshot> again = DecodeSnapshot(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(EncodeSnapshot(*again) == encoded);
  return 0;
}
