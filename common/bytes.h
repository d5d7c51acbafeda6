// Byte buffers, 32-byte ids, hex, and the little-endian / varint codec that
// every binary structure in docs/FORMAT.md is written with.
//
// Decoder is the only way repository bytes are parsed: every read is bounds
// checked and a short or malformed input yields Status::Corruption, never UB.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cairn {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsString(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

// Grows *b to at least n bytes (never shrinks it), for a scratch buffer reused call after call.
// A big growth has the kernel populate the new pages in one call first: on a virtual machine
// each first touch of a page can trap to the hypervisor (about 15 us a page on the benchmark VM,
// against 1 us populated), and faulting in a buffer of several MiB page by page was most of
// the time a rollback spent on its one big blob.
void GrowScratch(Bytes* b, size_t n);
// Makes room for at least n bytes in *b, keeping its contents, populated the same way.
void ReserveScratch(Bytes* b, size_t n);

std::string ToHex(ByteView bytes);
// Parses lower- or upper-case hex; odd length or non-hex characters fail.
Result<Bytes> FromHex(std::string_view hex);

// A 32-byte identifier: a blob id (HMAC-SHA-256) or an object name (SHA-256).
struct Id {
  std::array<uint8_t, 32> bytes{};

  static constexpr size_t kSize = 32;
  static Result<Id> FromHex(std::string_view hex);
  static Id FromBytes(ByteView b);  // REQUIRES: b.size() == 32
  std::string Hex() const { return ToHex(bytes); }
  std::string ShortHex() const { return Hex().substr(0, 8); }
  bool IsZero() const;
  ByteView view() const { return ByteView(bytes.data(), bytes.size()); }

  auto operator<=>(const Id&) const = default;
  bool operator==(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof(h));  // ids are uniformly random
    return h;
  }
};

// Appends little-endian integers, LEB128 varints and length-prefixed strings.
class Encoder {
 public:
  void U8(uint8_t v) { buf_.push_back(v); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Varint(uint64_t v);
  void SignedVarint(int64_t v);  // zig-zag
  void Raw(ByteView b) {
    if (b.empty()) return;
    size_t n = buf_.size();
    buf_.resize(n + b.size());
    std::memcpy(buf_.data() + n, b.data(), b.size());
  }
  void Str(std::string_view s);  // varint length + bytes
  void PutId(const Id& id) { Raw(id.view()); }

  Bytes& buffer() { return buf_; }
  Bytes Take() { return std::move(buf_); }

 private:
  Bytes buf_;
};

// Reads what Encoder wrote. Each getter fails with Corruption on short input.
class Decoder {
 public:
  explicit Decoder(ByteView b) : b_(b) {}
  Result<uint8_t> U8();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  Result<uint64_t> Varint();
  Result<int64_t> SignedVarint();
  Result<ByteView> Raw(size_t n);
  Result<std::string> Str(size_t max_len);
  Result<Id> GetId();
  size_t remaining() const { return b_.size() - pos_; }
  bool done() const { return pos_ == b_.size(); }

 private:
  ByteView b_;
  size_t pos_ = 0;
};

void PutU32LE(uint8_t* p, uint32_t v);
uint32_t GetU32LE(const uint8_t* p);

}  // namespace cairn

template <>
struct std::hash<cairn::Id> {
  size_t operator()(const cairn::Id& id) const { return cairn::IdHash()(id); }
};
