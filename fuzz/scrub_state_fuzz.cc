// DecodeScrubState on arbitrary plaintext (what a scrub/ envelope could hold).
#include "fuzz/fuzz_util.h"
#include "repo/scrub_state.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<ScrubState> state = DecodeScrubState(FuzzInput(data, size));
  CheckReencodes(state, DecodeScrubState, EncodeScrubState);
  if (!state.ok()) return 0;
  // Merging is what every reader does with what it decoded.
  ScrubState merged = *state;
  merged.Merge(*state);
  FUZZ_CHECK(merged.packs.size() == state->packs.size());
  FUZZ_CHECK(EncodeScrubState(merged) == EncodeScrubState(*state));
  return 0;
}
