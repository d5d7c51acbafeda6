// Arbitrary bytes where an envelope or a whole pack file is expected: Sealer::Open under every
// domain, encrypted and not, and ReadPackTrailer reading the input as a pack (footer, trailer
// length, envelope). Random bytes never authenticate; this covers everything before that.
#include "fuzz/fuzz_util.h"
#include "repo/pack.h"

using namespace cairn;

namespace {

constexpr SealDomain kDomains[] = {SealDomain::kNone,       SealDomain::kKeyFile,
                                   SealDomain::kDataBlob,   SealDomain::kTreeBlob,
                                   SealDomain::kPackTrailer, SealDomain::kIndexFile,
                                   SealDomain::kSnapshot};

// Reads like a backend: a range past the end fails.
Result<Bytes> ReadRange(ByteView file, uint64_t offset, uint64_t length) {
  if (offset > file.size() || length > file.size() - offset)
    return Status::Corruption("read past the end");
  ByteView v = file.subspan(offset, length);
  return Bytes(v.begin(), v.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sealer kSealers[] = {Sealer(Key32{1}, true), Sealer(Key32{1}, false)};
  ByteView input = FuzzInput(data, size);
  for (const Sealer& sealer : kSealers) {
    for (SealDomain domain : kDomains) {
      Result<Bytes> plain = sealer.Open(input, domain);
      if (plain.ok()) FUZZ_CHECK(plain->size() + Sealer::kOverhead == size);
    }
    (void)ReadPackTrailer(size, sealer, [&](uint64_t offset, uint64_t length) {
      return ReadRange(input, offset, length);
    });
  }
  return 0;
}
