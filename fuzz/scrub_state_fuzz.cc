// DecodeScrubState on arbitrary plaintext (what a scrub/ envelope could hold).
#include "fuzz/fuzz_util.h"
#include "repo/scrub_state.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<ScrubState> state = DecodeScrubState(FuzzInput(data, size));
  if (!state.ok()) return 0;
  Bytes encoded = EncodeScrubState(*state);
  Result<ScrubState> again = DecodeScrubState(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(EncodeScrubState(*again) == encoded);
  // Merging is what every reader does with what it decoded.
  ScrubState merged = *state;
  merged.Merge(*again);
  FUZZ_CHECK(merged.packs.size() == state->packs.size());
  return 0;
}
