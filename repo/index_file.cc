#include "repo/index_file.h"

#include "repo/format.h"

namespace cairn {

Bytes EncodeIndexFile(const std::vector<IndexedPack>& packs) {
  Encoder enc;
  enc.U8(kIndexFileVersion);
  enc.Varint(packs.size());
  for (const IndexedPack& p : packs) {
    enc.PutId(p.pack_id);
    enc.Varint(p.pack_size);
    enc.Varint(p.blobs.size());
    for (const BlobEntry& e : p.blobs) EncodeBlobEntry(e, &enc);
  }
  return enc.Take();
}

Result<std::vector<IndexedPack>> DecodeIndexFile(ByteView plaintext) {
  Decoder dec(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, dec.U8());
  if (version != kIndexFileVersion)
    return Status::Corruption("unsupported index file version " + std::to_string(version));
  ASSIGN_OR_RETURN(uint64_t npacks, dec.Varint());
  if (npacks > dec.remaining() / 34) return Status::Corruption("index file: pack count too large");
  std::vector<IndexedPack> packs(npacks);
  for (IndexedPack& p : packs) {
    ASSIGN_OR_RETURN(p.pack_id, dec.GetId());
    ASSIGN_OR_RETURN(p.pack_size, dec.Varint());
    ASSIGN_OR_RETURN(uint64_t n, dec.Varint());
    if (n > dec.remaining() / kMinBlobEntryBytes) return Status::Corruption("index file: blob count too large");
    p.blobs.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(BlobEntry e, DecodeBlobEntry(&dec));
      if (e.offset < kPackMagicSize || e.offset > p.pack_size || e.length > p.pack_size - e.offset)
        return Status::Corruption("index file: blob " + e.id.ShortHex() + " lies outside pack " +
                                  p.pack_id.ShortHex());
      p.blobs.push_back(e);
    }
  }
  if (!dec.done()) return Status::Corruption("index file: trailing bytes");
  return packs;
}

}  // namespace cairn
