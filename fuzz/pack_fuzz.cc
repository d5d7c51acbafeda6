// Whole packs below the AEAD. Random bytes never authenticate, so the harness builds a pack from
// the input under a fixed key: blobs written honestly (SealBlob) or hostile (stored bytes that
// may be any zstd frame, any raw length, sealed as they are), then trailer entries tampered with,
// trailing bytes and a forged trailer length. ReadPackTrailer and OpenBlob then see what an
// attacker holding the key, or a writer's bug, could put in a pack. An untampered pack must read
// back whole, and every honest blob must open to its content.
#include <fuzzer/FuzzedDataProvider.h>

#include <optional>

#include "fuzz/fuzz_util.h"
#include "repo/format.h"
#include "repo/pack.h"

using namespace cairn;

namespace {

struct Written {
  BlobEntry entry;
  std::optional<Bytes> plaintext;  // set for an honest blob whose entry is untouched
};

Written AddBlob(FuzzedDataProvider* fdp, const Sealer& sealer, const IdHasher& hasher,
                Bytes* pack) {
  Written w;
  BlobEntry& e = w.entry;
  e.type = fdp->ConsumeBool() ? BlobType::kTree : BlobType::kData;
  e.offset = pack->size();
  bool honest = fdp->ConsumeBool();
  Bytes content = fdp->ConsumeBytes<uint8_t>(fdp->ConsumeIntegralInRange<size_t>(0, 4096));
  e.id = hasher.Hash(content);
  if (honest) {
    SealedBlob b = SealBlob(e.type, e.id, content, 1, sealer);
    e.length = b.envelope.size();
    e.raw_length = b.raw_length;
    e.compression = b.compression;
    pack->insert(pack->end(), b.envelope.begin(), b.envelope.end());
    w.plaintext = std::move(content);
  } else {
    e.compression = fdp->ConsumeBool() ? Compression::kZstd : Compression::kNone;
    e.raw_length = fdp->ConsumeBool()
                       ? content.size()
                       : fdp->ConsumeIntegralInRange<uint64_t>(0, kMaxBlobRawSize + 1);
    size_t before = pack->size();
    sealer.Seal(content, BlobDomain(e.type), pack);
    e.length = pack->size() - before;
  }
  return w;
}

// Changes one field of one entry (or duplicates it); returns false if there was nothing to edit.
bool Tamper(FuzzedDataProvider* fdp, std::vector<Written>* written) {
  if (written->empty()) return false;
  Written& w = (*written)[fdp->ConsumeIntegralInRange<size_t>(0, written->size() - 1)];
  BlobEntry& e = w.entry;
  w.plaintext.reset();
  switch (fdp->ConsumeIntegralInRange<int>(0, 6)) {
    case 0: e.offset = fdp->ConsumeIntegral<uint64_t>(); break;
    case 1: e.offset += fdp->ConsumeIntegralInRange<int64_t>(-64, 64); break;
    case 2: e.length = fdp->ConsumeIntegral<uint64_t>(); break;
    case 3: e.length += fdp->ConsumeIntegralInRange<int64_t>(-64, 64); break;
    case 4: e.raw_length = fdp->ConsumeIntegral<uint64_t>(); break;
    case 5:
      e.type = e.type == BlobType::kData ? BlobType::kTree : BlobType::kData;
      e.compression = fdp->ConsumeBool() ? Compression::kZstd : Compression::kNone;
      break;
    case 6: written->push_back(Written{e, std::nullopt}); break;
  }
  return true;
}

Result<Bytes> ReadRange(ByteView file, uint64_t offset, uint64_t length) {
  if (offset > file.size() || length > file.size() - offset)
    return Status::Corruption("read past the end");
  ByteView v = file.subspan(offset, length);
  return Bytes(v.begin(), v.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sealer sealer(Key32{3}, true);
  static const IdHasher hasher(Key32{4});
  FuzzedDataProvider fdp(data, size);

  Bytes pack(kPackMagic, kPackMagic + kPackMagicSize);
  std::vector<Written> written;
  size_t blobs = fdp.ConsumeIntegralInRange<size_t>(0, 6);
  bool tampered = false;  // a hostile blob's entry counts: its raw length may be refused
  for (size_t i = 0; i < blobs; ++i) {
    written.push_back(AddBlob(&fdp, sealer, hasher, &pack));
    tampered |= !written.back().plaintext;
  }
  uint64_t blob_area_end = pack.size();

  for (int edits = fdp.ConsumeIntegralInRange<int>(0, 3); edits > 0; --edits)
    tampered |= Tamper(&fdp, &written);

  Encoder trailer;
  trailer.U8(kPackTrailerVersion);
  trailer.Varint(written.size());
  for (const Written& w : written) EncodeBlobEntry(w.entry, &trailer);
  Bytes junk = fdp.ConsumeBytes<uint8_t>(fdp.ConsumeIntegralInRange<size_t>(0, 4));
  tampered |= !junk.empty();
  trailer.Raw(junk);
  sealer.Seal(trailer.buffer(), SealDomain::kPackTrailer, &pack);
  uint32_t trailer_len = static_cast<uint32_t>(pack.size() - blob_area_end);
  if (fdp.ConsumeBool()) {
    uint32_t forged = fdp.ConsumeIntegral<uint32_t>();
    tampered |= forged != trailer_len;
    trailer_len = forged;
  }
  uint8_t len_bytes[4];
  PutU32LE(len_bytes, trailer_len);
  pack.insert(pack.end(), len_bytes, len_bytes + 4);
  pack.insert(pack.end(), kPackMagic, kPackMagic + kPackMagicSize);

  auto read = [&](uint64_t offset, uint64_t length) { return ReadRange(pack, offset, length); };
  Result<std::vector<BlobEntry>> entries = ReadPackTrailer(pack.size(), sealer, read);
  if (!entries.ok()) {
    FUZZ_CHECK(tampered);
    return 0;
  }
  FUZZ_CHECK(entries->size() == written.size());
  for (size_t i = 0; i < entries->size(); ++i) {
    const BlobEntry& e = (*entries)[i];
    FUZZ_CHECK(e.offset >= kPackMagicSize && e.offset <= blob_area_end &&
               e.length <= blob_area_end - e.offset);
    Result<Bytes> envelope = read(e.offset, e.length);
    FUZZ_CHECK(envelope.ok());
    Result<Bytes> plain = OpenBlob(e, *envelope, sealer, hasher);
    if (plain.ok()) FUZZ_CHECK(plain->size() == e.raw_length && hasher.Hash(*plain) == e.id);
    if (written[i].plaintext) FUZZ_CHECK(plain.ok() && *plain == *written[i].plaintext);
  }
  return 0;
}
