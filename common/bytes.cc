#include "common/bytes.h"

#include <sys/mman.h>

#include <algorithm>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels refuse it, which is harmless
#endif

namespace cairn {

namespace {
// Has the kernel fault in the pages of a big, fresh buffer in one call (see GrowScratch).
void Populate(Bytes* b) {
  constexpr size_t kPopulateFrom = 256 << 10;
  if (b->capacity() < kPopulateFrom) return;
  const uintptr_t page = 4096;
  uintptr_t start = (reinterpret_cast<uintptr_t>(b->data()) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(b->data()) + b->capacity()) & ~(page - 1);
  if (end > start) (void)madvise(reinterpret_cast<void*>(start), end - start, MADV_POPULATE_WRITE);
}
}  // namespace

void ReserveScratch(Bytes* b, size_t n) {
  if (b->capacity() >= n) return;
  Bytes fresh;
  fresh.reserve(std::max(n, 2 * b->capacity()));
  Populate(&fresh);
  fresh.assign(b->begin(), b->end());
  b->swap(fresh);
}

void GrowScratch(Bytes* b, size_t n) {
  if (b->size() >= n) return;
  if (b->capacity() < n) {
    Bytes fresh;
    fresh.reserve(n);
    Populate(&fresh);
    b->swap(fresh);
  }
  b->resize(n);
}


namespace {
int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
Status Short(const char* what) { return Status::Corruption(std::string("truncated ") + what); }
}  // namespace

std::string ToHex(ByteView bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 15];
  }
  return out;
}

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Status::InvalidArgument("odd-length hex string");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("not a hex string: " + std::string(hex));
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

Result<Id> Id::FromHex(std::string_view hex) {
  if (hex.size() != 64) return Status::InvalidArgument("an id has 64 hex digits: " + std::string(hex));
  ASSIGN_OR_RETURN(Bytes b, cairn::FromHex(hex));
  return FromBytes(b);
}

Id Id::FromBytes(ByteView b) {
  Id id;
  std::memcpy(id.bytes.data(), b.data(), kSize);
  return id;
}

bool Id::IsZero() const {
  for (uint8_t b : bytes)
    if (b) return false;
  return true;
}

void PutU32LE(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t GetU32LE(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}

void Encoder::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Encoder::U64(uint64_t v) {
  for (int i = 0; i < 8; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Encoder::Varint(uint64_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<uint8_t>(v));
}
void Encoder::SignedVarint(int64_t v) {
  Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void Encoder::Str(std::string_view s) {
  Varint(s.size());
  Raw(AsBytes(s));
}

Result<uint8_t> Decoder::U8() {
  if (remaining() < 1) return Short("u8");
  return b_[pos_++];
}
Result<uint32_t> Decoder::U32() {
  if (remaining() < 4) return Short("u32");
  uint32_t v = GetU32LE(b_.data() + pos_);
  pos_ += 4;
  return v;
}
Result<uint64_t> Decoder::U64() {
  if (remaining() < 8) return Short("u64");
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b_[pos_ + i]) << (8 * i);
  pos_ += 8;
  return v;
}
Result<uint64_t> Decoder::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (remaining() < 1) return Short("varint");
    uint8_t byte = b_[pos_++];
    if (shift == 63 && byte > 1) return Status::Corruption("varint overflows 64 bits");
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  return Status::Corruption("varint longer than 10 bytes");
}
Result<int64_t> Decoder::SignedVarint() {
  ASSIGN_OR_RETURN(uint64_t u, Varint());
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}
Result<ByteView> Decoder::Raw(size_t n) {
  if (remaining() < n) return Short("byte string");
  ByteView v = b_.subspan(pos_, n);
  pos_ += n;
  return v;
}
Result<std::string> Decoder::Str(size_t max_len) {
  ASSIGN_OR_RETURN(uint64_t n, Varint());
  if (n > max_len) return Status::Corruption("string length " + std::to_string(n) + " exceeds limit");
  ASSIGN_OR_RETURN(ByteView v, Raw(n));
  return std::string(AsString(v));
}
Result<Id> Decoder::GetId() {
  ASSIGN_OR_RETURN(ByteView v, Raw(Id::kSize));
  return Id::FromBytes(v);
}

}  // namespace cairn
