// OpenKeyFile on an arbitrary key file. scrypt's cost is bounded by OpenKeyFile's own range
// check (a hostile file can ask for at most that much work, by design); inputs that pass it
// with a cost above a few milliseconds are skipped so the fuzzer keeps its speed.
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "repo/keys.h"

using namespace cairn;

namespace {

uint64_t Num(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

// True if OpenKeyFile would run scrypt with parameters costlier than n = 2^10, r = 8, p = 1.
bool CostlyScrypt(const uint8_t* data, size_t size) {
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  uint64_t n = Num(j, "n"), r = Num(j, "r"), p = Num(j, "p");
  if (n > (1u << 22) || r > 32 || p > 16) return false;  // refused before any work
  return n * r * p > (uint64_t{1} << 13);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (CostlyScrypt(data, size)) return 0;
  Result<MasterKey> key = OpenKeyFile(FuzzInput(data, size), "pw");
  if (!key.ok()) return 0;
  // No fuzzed file seals a key under "pw": only an unencrypted key file (kdf "none") opens.
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  FUZZ_CHECK(j.is_object() && j.value("kdf", "") == "none");
  return 0;
}
