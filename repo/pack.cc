#include "repo/pack.h"

#include <algorithm>
#include <cstring>

namespace cairn {

SealDomain BlobDomain(BlobType type) {
  return type == BlobType::kTree ? SealDomain::kTreeBlob : SealDomain::kDataBlob;
}

void EncodeBlobEntry(const BlobEntry& e, Encoder* enc) {
  enc->U8(static_cast<uint8_t>(e.type));
  enc->PutId(e.id);
  enc->Varint(e.offset);
  enc->Varint(e.length);
  enc->Varint(e.raw_length);
  enc->U8(static_cast<uint8_t>(e.compression));
}

Result<BlobEntry> DecodeBlobEntry(Decoder* dec) {
  BlobEntry e;
  ASSIGN_OR_RETURN(uint8_t type, dec->U8());
  if (type > static_cast<uint8_t>(BlobType::kTree))
    return Status::Corruption("unknown blob type " + std::to_string(type));
  e.type = static_cast<BlobType>(type);
  ASSIGN_OR_RETURN(e.id, dec->GetId());
  ASSIGN_OR_RETURN(e.offset, dec->Varint());
  ASSIGN_OR_RETURN(e.length, dec->Varint());
  ASSIGN_OR_RETURN(e.raw_length, dec->Varint());
  ASSIGN_OR_RETURN(uint8_t comp, dec->U8());
  if (comp > static_cast<uint8_t>(Compression::kZstd))
    return Status::Corruption("unknown compression " + std::to_string(comp));
  e.compression = static_cast<Compression>(comp);
  if (e.length < Sealer::kOverhead || e.raw_length > kMaxBlobRawSize)
    return Status::Corruption("blob " + e.id.ShortHex() + ": implausible length");
  if (e.compression == Compression::kNone && e.length != e.raw_length + Sealer::kOverhead)
    return Status::Corruption("blob " + e.id.ShortHex() + ": length does not match raw length");
  return e;
}

SealedBlob SealBlob(BlobType type, const Id& id, ByteView plaintext, int level,
                    const Sealer& sealer) {
  SealedBlob b;
  b.type = type;
  b.id = id;
  b.raw_length = plaintext.size();
  Bytes compressed;
  b.compression = CompressBlob(plaintext, level, &compressed);
  b.envelope.reserve(compressed.size() + Sealer::kOverhead);
  sealer.Seal(compressed, BlobDomain(type), &b.envelope);
  return b;
}

PackBuilder::PackBuilder(size_t reserve_bytes) : reserve_bytes_(reserve_bytes) {
  buf_.reserve(reserve_bytes_);
  buf_.assign(kPackMagic, kPackMagic + kPackMagicSize);
}

void PackBuilder::Add(const SealedBlob& blob) {
  BlobEntry e;
  e.type = blob.type;
  e.id = blob.id;
  e.offset = buf_.size();
  e.length = blob.envelope.size();
  e.raw_length = blob.raw_length;
  e.compression = blob.compression;
  buf_.insert(buf_.end(), blob.envelope.begin(), blob.envelope.end());
  entries_.push_back(e);
}

Bytes PackBuilder::Finish(const Sealer& sealer) {
  Encoder enc;
  enc.U8(kPackTrailerVersion);
  enc.Varint(entries_.size());
  for (const BlobEntry& e : entries_) EncodeBlobEntry(e, &enc);
  size_t before = buf_.size();
  sealer.Seal(enc.buffer(), SealDomain::kPackTrailer, &buf_);
  uint32_t trailer_len = static_cast<uint32_t>(buf_.size() - before);
  uint8_t len_bytes[4];
  PutU32LE(len_bytes, trailer_len);
  buf_.insert(buf_.end(), len_bytes, len_bytes + 4);
  buf_.insert(buf_.end(), kPackMagic, kPackMagic + kPackMagicSize);
  Bytes out = std::move(buf_);
  buf_ = Bytes();
  buf_.reserve(reserve_bytes_);
  buf_.assign(kPackMagic, kPackMagic + kPackMagicSize);
  entries_.clear();
  return out;
}

Result<std::vector<BlobEntry>> DecodeTrailer(ByteView plaintext, uint64_t blob_area_end) {
  Decoder dec(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, dec.U8());
  if (version != kPackTrailerVersion)
    return Status::Corruption("unsupported pack trailer version " + std::to_string(version));
  ASSIGN_OR_RETURN(uint64_t count, dec.Varint());
  // Each entry takes at least 1 + 32 + 3 + 1 bytes, which bounds a hostile count.
  if (count > dec.remaining() / kMinBlobEntryBytes) return Status::Corruption("trailer: entry count too large");
  std::vector<BlobEntry> entries;
  entries.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(BlobEntry e, DecodeBlobEntry(&dec));
    if (e.offset < kPackMagicSize || e.offset > blob_area_end ||
        e.length > blob_area_end - e.offset)
      return Status::Corruption("trailer: blob " + e.id.ShortHex() + " lies outside the pack");
    entries.push_back(e);
  }
  if (!dec.done()) return Status::Corruption("trailer: trailing bytes");
  std::vector<const BlobEntry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const BlobEntry* a, const BlobEntry* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->offset + by_offset[i - 1]->length > by_offset[i]->offset)
      return Status::Corruption("trailer: blobs overlap");
  return entries;
}

Result<std::vector<BlobEntry>> ReadPackTrailer(
    uint64_t pack_size, const Sealer& sealer,
    const std::function<Result<Bytes>(uint64_t offset, uint64_t length)>& read) {
  if (pack_size < kPackMagicSize + kPackFooterSize + Sealer::kOverhead)
    return Status::Corruption("pack too small (" + std::to_string(pack_size) + " bytes)");
  ASSIGN_OR_RETURN(Bytes footer, read(pack_size - kPackFooterSize, kPackFooterSize));
  if (footer.size() != kPackFooterSize ||
      std::memcmp(footer.data() + 4, kPackMagic, kPackMagicSize) != 0)
    return Status::Corruption("pack footer: bad magic");
  uint64_t trailer_len = GetU32LE(footer.data());
  if (trailer_len < Sealer::kOverhead || trailer_len > kMaxTrailerSize ||
      trailer_len > pack_size - kPackFooterSize - kPackMagicSize)
    return Status::Corruption("pack footer: bad trailer length");
  uint64_t trailer_off = pack_size - kPackFooterSize - trailer_len;
  ASSIGN_OR_RETURN(Bytes sealed, read(trailer_off, trailer_len));
  ASSIGN_OR_RETURN_CTX(Bytes plain, sealer.Open(sealed, SealDomain::kPackTrailer), "trailer");
  return DecodeTrailer(plain, trailer_off);
}

bool EnvelopesCoverPack(ByteView pack, const std::vector<BlobEntry>& entries) {
  if (pack.size() < kPackMagicSize + kPackFooterSize ||
      std::memcmp(pack.data(), kPackMagic, kPackMagicSize) != 0)
    return false;
  uint64_t trailer_len = GetU32LE(pack.data() + pack.size() - kPackFooterSize);
  if (trailer_len > pack.size() - kPackMagicSize - kPackFooterSize) return false;
  uint64_t trailer_off = pack.size() - kPackFooterSize - trailer_len;
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  spans.reserve(entries.size());
  for (const BlobEntry& e : entries) spans.emplace_back(e.offset, e.length);
  std::sort(spans.begin(), spans.end());
  uint64_t at = kPackMagicSize;
  for (const auto& [offset, length] : spans) {
    if (offset != at) return false;
    at = offset + length;
  }
  return at == trailer_off;
}

Result<Bytes> OpenBlob(const BlobEntry& entry, ByteView envelope, const Sealer& sealer,
                       const IdHasher& hasher) {
  std::string what = "blob " + entry.id.Hex();
  if (envelope.size() != entry.length) return Status::Corruption(what + ": short read");
  ASSIGN_OR_RETURN_CTX(Bytes stored, sealer.Open(envelope, BlobDomain(entry.type)), what);
  ASSIGN_OR_RETURN_CTX(Bytes plain, DecompressBlob(entry.compression, stored, entry.raw_length),
                       what);
  if (hasher.Hash(plain) != entry.id)
    return Status::Corruption(what + ": content does not match its id");
  return plain;
}

}  // namespace cairn
