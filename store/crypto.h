// Cryptographic primitives, all from OpenSSL 3 (wrapped here so no other header
// includes OpenSSL): SHA-256 object names, HMAC-SHA-256 blob ids, AES-256-GCM
// sealing, scrypt key derivation, and the system CSPRNG.
//
// Thread safety: every class here is safe to use from many threads at once
// (per-thread OpenSSL contexts are created internally where needed).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

using Key32 = std::array<uint8_t, 32>;

// Fills n bytes from the OS CSPRNG (RAND_bytes). Aborts the process if the RNG
// fails, because continuing with weak nonces or keys would be worse.
Bytes RandomBytes(size_t n);
Key32 RandomKey();

// SHA-256 of data: names of packs, index files and snapshots.
Id Sha256(ByteView data);

// Incremental SHA-256, for hashing a pack while it is written.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  Id Finish();  // may be called once; Reset() to reuse
  void Reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blob ids: HMAC-SHA-256(id_key, plaintext). The keyed inner/outer states are
// computed once so each id costs only the SHA-256 work.
class IdHasher {
 public:
  explicit IdHasher(const Key32& id_key);
  ~IdHasher();
  IdHasher(const IdHasher&) = delete;
  IdHasher& operator=(const IdHasher&) = delete;
  Id Hash(ByteView data) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA-256 for one-off uses (config MAC, gear derivation).
Id HmacSha256(ByteView key, ByteView data);

// What an envelope holds. It is authenticated with the envelope (as GCM associated data), so an
// envelope moved into a place that expects another kind fails to open instead of being parsed
// as the wrong structure.
enum class SealDomain : uint8_t {
  kNone = 0,  // tests only
  kKeyFile = 'K',
  kDataBlob = 'D',
  kTreeBlob = 'T',
  kPackTrailer = 'P',
  kIndexFile = 'I',
  kSnapshot = 'S',
  kPruneRecord = 'R',  // likewise optional (FORMAT.md section 2)
  kRepairRecord = 'Q',  // likewise optional (FORMAT.md section 2)
  kScrubState = 'V',  // an optional v1 object (FORMAT.md section 2); earlier readers never open one
};

// Seals and opens envelopes:  nonce (12) || body || tag (16).
//  encrypted:    body = AES-256-GCM ciphertext of the plaintext, tag = GCM tag,
//                nonce random per envelope, associated data = the one domain byte.
//  unencrypted:  nonce = 12 zero bytes, body = plaintext,
//                tag = SHA-256(domain byte || plaintext)[0..16).
// (SealDomain::kNone means no associated data and tag = SHA-256(plaintext)[0..16).)
// Open fails with Corruption ("authentication failed") on any mismatch.
class Sealer {
 public:
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kNonceSize + kTagSize;

  Sealer(const Key32& key, bool encrypt);
  bool encrypts() const { return encrypt_; }
  // Appends the envelope of plaintext to out. REQUIRES: plaintext does not point into *out.
  void Seal(ByteView plaintext, SealDomain domain, Bytes* out) const;
  Result<Bytes> Open(ByteView envelope, SealDomain domain) const;
  // The same, decrypting in place: the result views the plaintext inside `envelope` (its body).
  // Spares a buffer the size of the blob, whose pages a restore would fault in for every big
  // blob. On failure the body is wiped.
  Result<ByteView> OpenInPlace(std::span<uint8_t> envelope, SealDomain domain) const;
  void Seal(ByteView plaintext, Bytes* out) const { Seal(plaintext, SealDomain::kNone, out); }
  Result<Bytes> Open(ByteView envelope) const { return Open(envelope, SealDomain::kNone); }

 private:
  // Size, and for an unencrypting sealer the digest: everything but the AEAD check.
  Status CheckOpenable(ByteView envelope, SealDomain domain) const;
  // Decrypts and authenticates the envelope's body into `out` (which may be the body itself);
  // on failure `out` is wiped.
  Status DecryptBody(ByteView envelope, SealDomain domain, uint8_t* out) const;
  Key32 key_;
  bool encrypt_;
};

struct ScryptParams {
  uint64_t n = 1 << 15;  // CPU/memory cost (32 MiB with r = 8)
  uint32_t r = 8;
  uint32_t p = 1;
};

// scrypt parameters needing more memory than this are refused: they come from
// key files, and a tampered file must not be able to exhaust memory.
constexpr uint64_t kScryptMaxMemoryBytes = uint64_t{2} << 30;

// Derives a 32-byte key from a password with scrypt (EVP_PBE_scrypt).
// InvalidArgument if n is not a power of two > 1, r or p is 0, r * p >= 2^30,
// or the parameters need more than kScryptMaxMemoryBytes (about 128 * r * (n + p) bytes).
Result<Key32> DeriveKey(std::string_view password, ByteView salt, const ScryptParams& params);

// Overwrites memory holding secrets (OPENSSL_cleanse).
void Wipe(void* p, size_t n);

}  // namespace cairn
