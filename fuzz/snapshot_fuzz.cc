// DecodeSnapshot on arbitrary plaintext (what a snapshot envelope could hold).
#include "fuzz/fuzz_util.h"
#include "repo/snapshot.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<Snapshot> snap = DecodeSnapshot(FuzzInput(data, size));
  CheckReencodes(snap, DecodeSnapshot, EncodeSnapshot);
  if (snap.ok()) FUZZ_CHECK(EncodeSnapshot(*snap).size() <= size);
  return 0;
}
