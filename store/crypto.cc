#include "store/crypto.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace cairn {

namespace {

// OpenSSL's length parameters are int; larger inputs are fed in pieces.
constexpr size_t kMaxOpenSslChunk = size_t{1} << 30;

// A failure here means OpenSSL is broken or out of memory: nothing sensible
// can be returned (a wrong id or an unsealed envelope would be silent damage).
[[noreturn]] void Die(const char* what) {
  unsigned long err = ERR_get_error();
  char buf[256] = "no OpenSSL error queued";
  if (err != 0) ERR_error_string_n(err, buf, sizeof(buf));
  std::fprintf(stderr, "cairn: fatal: %s failed: %s\n", what, buf);
  std::abort();
}

void Check(int rc, const char* what) {
  if (rc != 1) Die(what);
}

// Fetched once: the implicit fetch behind EVP_sha256() costs a lock and a
// lookup per init. Deliberately never freed (it lives as long as the process).
const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Die("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

const EVP_CIPHER* AesGcmCipher() {
  static EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) Die("EVP_CIPHER_fetch(AES-256-GCM)");
    return c;
  }();
  return cipher;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtxPtr NewMdCtx() {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) Die("EVP_MD_CTX_new");
  return ctx;
}

void DigestUpdate(EVP_MD_CTX* ctx, ByteView data) {
  Check(EVP_DigestUpdate(ctx, data.data(), data.size()), "EVP_DigestUpdate");
}

Id DigestFinal(EVP_MD_CTX* ctx) {
  Id id;
  unsigned int len = 0;
  Check(EVP_DigestFinal_ex(ctx, id.bytes.data(), &len), "EVP_DigestFinal_ex");
  return id;
}

// Scratch digest context for the calling thread. Reusing it avoids an
// allocation per IdHasher::Hash; the state is overwritten by a copy each time.
EVP_MD_CTX* ThreadMdCtx() {
  thread_local MdCtxPtr ctx = NewMdCtx();
  return ctx.get();
}

// One AES-GCM context per thread, reused across Seal/Open calls (and across
// Sealers: the key is set on every call, the cipher only once).
class ThreadCipher {
 public:
  ThreadCipher() : ctx_(EVP_CIPHER_CTX_new()) {
    if (ctx_ == nullptr) Die("EVP_CIPHER_CTX_new");
    Check(EVP_CipherInit_ex2(ctx_, AesGcmCipher(), nullptr, nullptr, 1, nullptr),
          "EVP_CipherInit_ex2");
  }
  ~ThreadCipher() { EVP_CIPHER_CTX_free(ctx_); }
  ThreadCipher(const ThreadCipher&) = delete;
  ThreadCipher& operator=(const ThreadCipher&) = delete;
  EVP_CIPHER_CTX* get() { return ctx_; }

 private:
  EVP_CIPHER_CTX* ctx_;
};

EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local ThreadCipher cipher;
  return cipher.get();
}

// Runs AES-GCM over in[0..n) into out; returns false if OpenSSL refuses.
bool GcmUpdate(EVP_CIPHER_CTX* ctx, const uint8_t* in, size_t n, uint8_t* out) {
  while (n > 0) {
    size_t piece = std::min(n, kMaxOpenSslChunk);
    int outl = 0;
    if (EVP_CipherUpdate(ctx, out, &outl, in, static_cast<int>(piece)) != 1) return false;
    if (static_cast<size_t>(outl) != piece) return false;  // GCM is a stream mode
    in += piece;
    out += piece;
    n -= piece;
  }
  return true;
}

Status AuthFailed() { return Status::Corruption("authentication failed"); }

}  // namespace

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  for (size_t done = 0; done < n;) {
    size_t piece = std::min(n - done, kMaxOpenSslChunk);
    Check(RAND_bytes(out.data() + done, static_cast<int>(piece)), "RAND_bytes");
    done += piece;
  }
  return out;
}

Key32 RandomKey() {
  Key32 key;
  Check(RAND_bytes(key.data(), static_cast<int>(key.size())), "RAND_bytes");
  return key;
}

Id Sha256(ByteView data) {
  Id id;
  unsigned int len = 0;
  Check(EVP_Digest(data.data(), data.size(), id.bytes.data(), &len, Sha256Md(), nullptr),
        "EVP_Digest");
  return id;
}

// ---- Sha256Stream ----

struct Sha256Stream::Impl {
  MdCtxPtr ctx = NewMdCtx();
};

Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) { Reset(); }
Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(ByteView data) { DigestUpdate(impl_->ctx.get(), data); }
Id Sha256Stream::Finish() { return DigestFinal(impl_->ctx.get()); }
void Sha256Stream::Reset() {
  Check(EVP_DigestInit_ex2(impl_->ctx.get(), Sha256Md(), nullptr), "EVP_DigestInit_ex2");
}

// ---- IdHasher ----
//
// HMAC by hand (RFC 2104): the SHA-256 states after absorbing key^ipad and
// key^opad are computed once; each Hash copies them into a per-thread scratch
// context. Measured against EVP_MAC_CTX_dup of a keyed HMAC context this takes
// ~18% less time on 4 KiB inputs (2.5 vs 3.0 us: no per-call allocation of
// three digest contexts) and the same on 256 KiB, where SHA-256 dominates.

struct IdHasher::Impl {
  MdCtxPtr inner = NewMdCtx();  // read-only after construction
  MdCtxPtr outer = NewMdCtx();
};

IdHasher::IdHasher(const Key32& id_key) : impl_(std::make_unique<Impl>()) {
  constexpr size_t kBlock = 64;  // SHA-256 block size; the key is shorter, so zero-padded
  static_assert(sizeof(Key32) <= kBlock);
  uint8_t ipad[kBlock] = {};
  uint8_t opad[kBlock] = {};
  std::memcpy(ipad, id_key.data(), id_key.size());
  std::memcpy(opad, id_key.data(), id_key.size());
  for (size_t i = 0; i < kBlock; ++i) {
    ipad[i] ^= 0x36;
    opad[i] ^= 0x5c;
  }
  Check(EVP_DigestInit_ex2(impl_->inner.get(), Sha256Md(), nullptr), "EVP_DigestInit_ex2");
  DigestUpdate(impl_->inner.get(), ByteView(ipad, kBlock));
  Check(EVP_DigestInit_ex2(impl_->outer.get(), Sha256Md(), nullptr), "EVP_DigestInit_ex2");
  DigestUpdate(impl_->outer.get(), ByteView(opad, kBlock));
  Wipe(ipad, sizeof(ipad));
  Wipe(opad, sizeof(opad));
}

IdHasher::~IdHasher() = default;

Id IdHasher::Hash(ByteView data) const {
  EVP_MD_CTX* work = ThreadMdCtx();
  Check(EVP_MD_CTX_copy_ex(work, impl_->inner.get()), "EVP_MD_CTX_copy_ex");
  DigestUpdate(work, data);
  Id inner = DigestFinal(work);
  Check(EVP_MD_CTX_copy_ex(work, impl_->outer.get()), "EVP_MD_CTX_copy_ex");
  DigestUpdate(work, inner.view());
  return DigestFinal(work);
}

Id HmacSha256(ByteView key, ByteView data) {
  Id id;
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), data.data(),
                data.size(), id.bytes.data(), id.bytes.size(), &len) == nullptr ||
      len != Id::kSize) {
    Die("EVP_Q_mac(HMAC-SHA256)");
  }
  return id;
}

// ---- Sealer ----

Sealer::Sealer(const Key32& key, bool encrypt) : key_(key), encrypt_(encrypt) {}

namespace {
Id DigestWithDomain(SealDomain domain, ByteView data) {
  if (domain == SealDomain::kNone) return Sha256(data);
  Sha256Stream h;
  uint8_t d = static_cast<uint8_t>(domain);
  h.Update(ByteView(&d, 1));
  h.Update(data);
  return h.Finish();
}

bool SetAad(EVP_CIPHER_CTX* ctx, SealDomain domain) {
  if (domain == SealDomain::kNone) return true;
  uint8_t d = static_cast<uint8_t>(domain);
  int outl = 0;
  return EVP_CipherUpdate(ctx, nullptr, &outl, &d, 1) == 1;
}
}  // namespace

void Sealer::Seal(ByteView plaintext, SealDomain domain, Bytes* out) const {
  const size_t start = out->size();
  out->resize(start + kOverhead + plaintext.size());
  uint8_t* nonce = out->data() + start;
  uint8_t* body = nonce + kNonceSize;
  uint8_t* tag = body + plaintext.size();

  if (!encrypt_) {
    std::memset(nonce, 0, kNonceSize);
    if (!plaintext.empty()) std::memcpy(body, plaintext.data(), plaintext.size());
    Id digest = DigestWithDomain(domain, plaintext);
    std::memcpy(tag, digest.bytes.data(), kTagSize);
    return;
  }

  // 96-bit random nonces: with 2^32 envelopes per key the collision chance
  // stays below 2^-32 (NIST SP 800-38D, 8.3).
  Check(RAND_bytes(nonce, static_cast<int>(kNonceSize)), "RAND_bytes");
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  Check(EVP_CipherInit_ex2(ctx, nullptr, key_.data(), nonce, 1, nullptr), "EVP_CipherInit_ex2");
  if (!SetAad(ctx, domain)) Die("AES-GCM associated data");
  if (!GcmUpdate(ctx, plaintext.data(), plaintext.size(), body)) Die("AES-GCM encrypt");
  int outl = 0;
  Check(EVP_CipherFinal_ex(ctx, tag, &outl), "EVP_CipherFinal_ex");
  Check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize), tag),
        "EVP_CTRL_AEAD_GET_TAG");
}

Status Sealer::CheckOpenable(ByteView envelope, SealDomain domain) const {
  if (envelope.size() < kOverhead) {
    return Status::Corruption("envelope of " + std::to_string(envelope.size()) +
                              " bytes is shorter than its " + std::to_string(kOverhead) +
                              "-byte overhead");
  }
  if (encrypt_) return Status::OK();
  ByteView nonce = envelope.first(kNonceSize);
  ByteView body = envelope.subspan(kNonceSize, envelope.size() - kOverhead);
  ByteView tag = envelope.last(kTagSize);
  // A non-zero nonce means the data was sealed by an encrypting repository
  // (or damaged): reading it as plaintext would be wrong either way.
  if (std::any_of(nonce.begin(), nonce.end(), [](uint8_t b) { return b != 0; })) return AuthFailed();
  Id digest = DigestWithDomain(domain, body);
  if (CRYPTO_memcmp(digest.bytes.data(), tag.data(), kTagSize) != 0) return AuthFailed();
  return Status::OK();
}

Status Sealer::DecryptBody(ByteView envelope, SealDomain domain, uint8_t* out) const {
  ByteView nonce = envelope.first(kNonceSize);
  ByteView body = envelope.subspan(kNonceSize, envelope.size() - kOverhead);
  // Read before decrypting: `out` may be the body itself (GCM decrypts in place).
  uint8_t expected[kTagSize];
  std::memcpy(expected, envelope.last(kTagSize).data(), kTagSize);
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  Check(EVP_CipherInit_ex2(ctx, nullptr, key_.data(), nonce.data(), 0, nullptr),
        "EVP_CipherInit_ex2");
  if (!SetAad(ctx, domain)) return AuthFailed();
  bool ok = GcmUpdate(ctx, body.data(), body.size(), out);
  if (ok) {
    // The ctrl takes a non-const pointer but only reads the expected tag.
    Check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize), expected),
          "EVP_CTRL_AEAD_SET_TAG");
    int outl = 0;
    uint8_t final_block[16];
    ok = EVP_CipherFinal_ex(ctx, final_block, &outl) == 1;
    if (!ok) ERR_clear_error();
  }
  if (!ok) {
    // Unauthenticated plaintext must not linger where a later bug could leak it.
    Wipe(out, body.size());
    return AuthFailed();
  }
  return Status::OK();
}

Result<Bytes> Sealer::Open(ByteView envelope, SealDomain domain) const {
  RETURN_IF_ERROR(CheckOpenable(envelope, domain));
  ByteView body = envelope.subspan(kNonceSize, envelope.size() - kOverhead);
  if (!encrypt_) return Bytes(body.begin(), body.end());
  Bytes plaintext(body.size());
  RETURN_IF_ERROR(DecryptBody(envelope, domain, plaintext.data()));
  return plaintext;
}

Result<ByteView> Sealer::OpenInPlace(std::span<uint8_t> envelope, SealDomain domain) const {
  RETURN_IF_ERROR(CheckOpenable(envelope, domain));
  std::span<uint8_t> body = envelope.subspan(kNonceSize, envelope.size() - kOverhead);
  if (encrypt_) RETURN_IF_ERROR(DecryptBody(envelope, domain, body.data()));
  return ByteView(body.data(), body.size());
}

// ---- scrypt ----

Result<Key32> DeriveKey(std::string_view password, ByteView salt, const ScryptParams& params) {
  const uint64_t n = params.n, r = params.r, p = params.p;
  if (n < 2 || (n & (n - 1)) != 0) {
    return Status::InvalidArgument("scrypt N must be a power of two > 1, got " + std::to_string(n));
  }
  if (r == 0 || p == 0) return Status::InvalidArgument("scrypt r and p must be positive");
  // RFC 7914: p <= (2^32 - 1) * 32 / (128 * r), and OpenSSL wants r * p < 2^30.
  if (r * p >= (uint64_t{1} << 30)) return Status::InvalidArgument("scrypt r * p too large");
  // OpenSSL needs 128*r*(N+2) bytes for V plus 128*r*p for B. Parameters come
  // from key files, which an attacker may write: refuse to allocate beyond
  // kScryptMaxMemoryBytes rather than let a tampered file exhaust memory.
  // With n <= 2^24 here, r < 2^32 and r * p < 2^30 the sum cannot overflow.
  if (n > kScryptMaxMemoryBytes / 128) return Status::InvalidArgument("scrypt N too large");
  const uint64_t mem_bytes = 128 * r * (n + 2) + 128 * r * p;
  if (mem_bytes > kScryptMaxMemoryBytes) {
    return Status::InvalidArgument("scrypt parameters need more than " +
                                   std::to_string(kScryptMaxMemoryBytes >> 20) + " MiB");
  }
  const uint64_t maxmem = mem_bytes + (uint64_t{1} << 20);

  Key32 key;
  if (EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), n, r, p, maxmem,
                     key.data(), key.size()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("scrypt failed (parameters rejected or out of memory)");
  }
  return key;
}

void Wipe(void* p, size_t n) { OPENSSL_cleanse(p, n); }

}  // namespace cairn
