// DecodeRepairRecord on arbitrary plaintext (what a repairs/ envelope could hold): listings,
// scrub, prune and index rebuilds all read it.
#include "fuzz/fuzz_util.h"
#include "repo/repair_record.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckReencodes(DecodeRepairRecord(FuzzInput(data, size)), DecodeRepairRecord, EncodeRepairRecord);
  return 0;
}
