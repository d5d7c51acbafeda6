// DecodePruneRecord on arbitrary plaintext (what a prune/ envelope could hold), and the sweep
// marker name parser on the same bytes as a name: a prune trusts both to decide what to delete.
#include <string>

#include "fuzz/fuzz_util.h"
#include "repo/prune_record.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<SweepMarker> marker = ParseSweepMarkerName(std::string(reinterpret_cast<const char*>(data), size));
  if (marker.ok()) {
    Result<SweepMarker> again = ParseSweepMarkerName(SweepMarkerName(*marker));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(again->mark_time_ns == marker->mark_time_ns && again->sweep_time_ns == marker->sweep_time_ns);
  }
  CheckReencodes(DecodePruneRecord(FuzzInput(data, size)), DecodePruneRecord, EncodePruneRecord);
  return 0;
}
