// The config object (JSON) as a hostile repository could hold it: Decode runs before any key is
// open, Verify right after. Whatever Decode accepts must encode and decode to the same values.
#include "fuzz/fuzz_util.h"
#include "repo/config.h"

using namespace cairn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Key32 kMacKey = RepoConfig::MacKey(Key32{7});
  ByteView input = FuzzInput(data, size);
  (void)RepoConfig::Verify(input, kMacKey);
  Result<RepoConfig> config = RepoConfig::Decode(input);
  if (!config.ok()) return 0;
  FUZZ_CHECK(config->id.size() == 64);
  FUZZ_CHECK(config->chunker.Validate().ok());
  Bytes encoded = config->Encode(kMacKey);
  FUZZ_CHECK(RepoConfig::Verify(encoded, kMacKey).ok());
  Result<RepoConfig> again = RepoConfig::Decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->Encode(kMacKey) == encoded);
  return 0;
}
