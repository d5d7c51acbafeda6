// DecodeRepairRecord on arbitrary plaintext (what a repairs/ envelope could hold): listings,
// scrub, prune and index rebuilds all read it.
#include "fuzz/fuzz_util.h"
#include "repo/repair_record.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<RepairRecord> record = DecodeRepairRecord(FuzzInput(data, size));
  if (!record.ok()) return 0;
  Bytes encoded = EncodeRepairRecord(*record);
  Result<RepairRecord> again = DecodeRepairRecord(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(EncodeRepairRecord(*again) == encoded);
  return 0;
}
