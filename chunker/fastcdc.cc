#include "chunker/fastcdc.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <string>

namespace cairn {

namespace {

constexpr uint32_t kMinMinSize = 64;
constexpr uint32_t kMinAvgSize = 256;
constexpr uint32_t kMaxSize = 64u << 20;

// The cut rule. Part of the on-disk format: changing any of it moves chunk
// boundaries and so defeats deduplication against existing repositories;
// chunker/fastcdc_test.cc pins its output.
//
// For data d and n = min(d.size(), max_size): if n <= min_size the chunk is n
// bytes. Otherwise h starts at 0 and for i = min_size, min_size + 1, ..., n - 1:
//   h = (h << 1) + gear[d[i]]                      (mod 2^64)
//   mask = MaskS if i < avg_size else MaskL
//   if (h & mask) == 0, the chunk is i + 1 bytes
// and if no i qualifies, the chunk is n bytes. The masks:
//   bits  = log2(avg_size)                          (avg_size is a power of two)
//   MaskS = the top (bits + 2) bits of a 64-bit word:  ~0 << (64 - (bits + 2))
//   MaskL = the top (bits - 2) bits of a 64-bit word:  ~0 << (64 - (bits - 2))
// e.g. avg 256 KiB: MaskS = 0xfffff00000000000 (20 bits),
//                   MaskL = 0xffff000000000000 (16 bits);
//      avg   8 KiB: MaskS = 0xfffe000000000000 (15 bits),
//                   MaskL = 0xffe0000000000000 (11 bits).
//
// Why the top bits: bit j of h depends only on the last j + 1 bytes, so the
// high bits are the ones that have mixed in the most content (up to 64 bytes);
// low-bit masks would cut on a window of only a few bytes.
uint64_t TopBits(int n) { return ~uint64_t{0} << (64 - n); }
uint64_t MaskS(uint32_t avg_size) { return TopBits(std::countr_zero(avg_size) + 2); }
uint64_t MaskL(uint32_t avg_size) { return TopBits(std::countr_zero(avg_size) - 2); }

// Rolls the gear hash over data[i, end) and returns the length of the chunk
// ending at the first byte after which (h & mask) == 0, or 0 if there is none.
// This loop is the whole cost of chunking. The update compiles to one lea, so
// the chain through h is a cycle per byte; unrolling by four takes the loop
// control off that path (measured 1.5 -> 3.9 GiB/s), and the per-byte exits
// are almost never taken, so they predict well.
inline size_t Scan(const uint64_t* gear, const uint8_t* data, size_t i, size_t end, uint64_t mask,
                   uint64_t& h) {
  uint64_t x = h;
  for (; i + 4 <= end; i += 4) {
    x = (x << 1) + gear[data[i]];
    if ((x & mask) == 0) return i + 1;
    x = (x << 1) + gear[data[i + 1]];
    if ((x & mask) == 0) return i + 2;
    x = (x << 1) + gear[data[i + 2]];
    if ((x & mask) == 0) return i + 3;
    x = (x << 1) + gear[data[i + 3]];
    if ((x & mask) == 0) return i + 4;
  }
  for (; i < end; ++i) {
    x = (x << 1) + gear[data[i]];
    if ((x & mask) == 0) return i + 1;
  }
  h = x;
  return 0;
}

}  // namespace

ChunkerParams ChunkerParams::Default() {
  ChunkerParams p;
  p.min_size = 64u << 10;
  p.avg_size = 256u << 10;
  p.max_size = 1u << 20;
  return p;
}

Status ChunkerParams::Validate() const {
  auto bad = [this](const char* why) {
    return Status::InvalidArgument("chunker params min=" + std::to_string(min_size) +
                                   " avg=" + std::to_string(avg_size) +
                                   " max=" + std::to_string(max_size) + ": " + why);
  };
  if (!std::has_single_bit(avg_size)) return bad("avg_size must be a power of two");
  if (avg_size < kMinAvgSize || avg_size > kMaxSize) {
    return bad("avg_size must be in [256 B, 64 MiB]");
  }
  if (min_size < kMinMinSize) return bad("min_size must be at least 64");
  if (min_size > avg_size) return bad("min_size must not exceed avg_size");
  if (avg_size > max_size) return bad("avg_size must not exceed max_size");
  if (max_size > kMaxSize) return bad("max_size must not exceed 64 MiB");
  return Status::OK();
}

GearTable GearTable::FromKey(ByteView key32) {
  assert(key32.size() == 32);
  GearTable t;
  static constexpr char kLabel[] = "cairn-gear";
  constexpr size_t kLabelLen = sizeof(kLabel) - 1;  // no trailing NUL
  uint8_t msg[kLabelLen + 4];
  std::memcpy(msg, kLabel, kLabelLen);
  for (uint32_t k = 0; k < 64; ++k) {
    PutU32LE(msg + kLabelLen, k);
    uint8_t mac[32];
    unsigned int mac_len = 0;
    // HMAC-SHA-256 cannot fail on valid arguments; a null return would mean a
    // broken OpenSSL build, where continuing with a zero table is not an option.
    if (HMAC(EVP_sha256(), key32.data(), static_cast<int>(key32.size()), msg, sizeof(msg), mac,
             &mac_len) == nullptr ||
        mac_len != sizeof(mac)) {
      std::abort();
    }
    for (int j = 0; j < 4; ++j) {
      uint64_t v = 0;
      for (int b = 7; b >= 0; --b) v = (v << 8) | mac[8 * j + b];
      t.g_[4 * k + j] = v;
    }
  }
  return t;
}

size_t FindBoundary(const GearTable& gear, const ChunkerParams& params, ByteView data) {
  const size_t n = std::min<size_t>(data.size(), params.max_size);
  if (n <= params.min_size) return n;
  const size_t normal = std::min<size_t>(n, params.avg_size);
  uint64_t h = 0;
  // Normalized chunking: cutting is harder before avg_size and easier after,
  // which pulls chunk sizes towards avg_size.
  if (size_t cut =
          Scan(gear.data(), data.data(), params.min_size, normal, MaskS(params.avg_size), h)) {
    return cut;
  }
  if (size_t cut = Scan(gear.data(), data.data(), normal, n, MaskL(params.avg_size), h)) {
    return cut;
  }
  return n;
}

Chunker::Chunker(const GearTable& gear, const ChunkerParams& params, Reader* reader, Bytes* scratch)
    : gear_(gear), params_(params), reader_(reader), buf_(scratch ? scratch : &own_) {}

Status Chunker::Fill() {
  // Compact only when the window is short: each memmove then moves less than
  // max_size bytes for every max_size bytes consumed.
  if (start_ > 0) {
    std::memmove(buf_->data(), buf_->data() + start_, end_ - start_);
    end_ -= start_;
    start_ = 0;
  }
  while (!eof_ && end_ < params_.max_size) {
    // The window grows as the input needs it, up to 2 * max_size, instead of being that big from
    // the start: zero-filling (and faulting in) 16 MiB for a snapshot whose changed files are
    // small was a few milliseconds of the walk. A reused scratch buffer keeps its size.
    if (end_ == buf_->size()) {
      size_t n = std::min(2 * size_t{params_.max_size}, std::max(kMinWindow, 2 * buf_->size()));
      ReserveScratch(buf_, n);
      buf_->resize(n);
    }
    Result<size_t> r = reader_->Read(buf_->data() + end_, buf_->size() - end_);
    if (!r.ok()) {
      return r.status().WithContext("chunker: read at offset " + std::to_string(bytes_read_));
    }
    if (*r == 0) {
      eof_ = true;
    } else {
      end_ += *r;
      bytes_read_ += *r;
    }
  }
  return Status::OK();
}

Result<std::optional<ByteView>> Chunker::Next() {
  if (!eof_ && end_ - start_ < params_.max_size) RETURN_IF_ERROR(Fill());
  if (start_ == end_) return std::optional<ByteView>();
  ByteView window(buf_->data() + start_, end_ - start_);
  size_t len = FindBoundary(gear_, params_, window);
  start_ += len;
  return std::optional<ByteView>(window.first(len));
}

}  // namespace cairn
