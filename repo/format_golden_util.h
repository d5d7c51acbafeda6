// Helpers shared by the golden-file tests of the repository format
// (repo/format_golden_test.cc, repo/format_golden_repo_test.cc).
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "store/crypto.h"

namespace cairn::golden {

namespace fs = std::filesystem;

// tests/data/format-v1, from CAIRN_TEST_DATA (set by ctest) or found from this file's path
// when the test program is run by hand.
inline std::string GoldenDir() {
  if (const char* d = std::getenv("CAIRN_TEST_DATA")) return std::string(d) + "/format-v1";
  return (fs::path(__FILE__).parent_path().parent_path() / "tests/data/format-v1").string();
}

inline Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline Bytes Golden(const std::string& name) { return ReadAll(GoldenDir() + "/" + name); }

inline Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The domain bytes of docs/FORMAT.md section 4.3, spelled out here rather than taken from
// SealDomain, so that a changed enum value fails the golden tests.
inline constexpr uint8_t kDomainKeyFile = 'K', kDomainDataBlob = 'D', kDomainTreeBlob = 'T',
                         kDomainPackTrailer = 'P', kDomainIndexFile = 'I', kDomainSnapshot = 'S';
inline constexpr uint8_t kAllDomains[] = {'K', 'D', 'T', 'P', 'I', 'S'};

// Opens an envelope as docs/FORMAT.md section 4.3 describes it, without Sealer:
//  encrypted:   AES-256-GCM under `key` with the 12-byte nonce, associated data = the one
//               domain byte, tag = the last 16 bytes;
//  unencrypted: nonce all zero, tag = SHA-256(domain byte || body)[0..16).
// domain nullopt: no associated data and tag = SHA-256(body)[0..16), which is not the format
// (no v1 object is sealed that way). Returns nullopt if the envelope does not open.
inline std::optional<Bytes> OpenByHand(bool encrypted, const Key32& key, ByteView envelope,
                                       std::optional<uint8_t> domain) {
  if (envelope.size() < 28) return std::nullopt;
  ByteView nonce = envelope.first(12), tag = envelope.last(16);
  ByteView body = envelope.subspan(12, envelope.size() - 28);
  if (!encrypted) {
    if (std::any_of(nonce.begin(), nonce.end(), [](uint8_t b) { return b != 0; }))
      return std::nullopt;
    Bytes msg;
    if (domain) msg.push_back(*domain);
    msg.insert(msg.end(), body.begin(), body.end());
    Id digest = Sha256(msg);
    if (!std::equal(tag.begin(), tag.end(), digest.bytes.begin())) return std::nullopt;
    return Bytes(body.begin(), body.end());
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  Bytes plain(body.size());
  uint8_t expected[16];
  std::copy(tag.begin(), tag.end(), expected);
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data()) == 1 &&
            (!domain || EVP_DecryptUpdate(ctx, nullptr, &len, &*domain, 1) == 1) &&
            (body.empty() || EVP_DecryptUpdate(ctx, plain.data(), &len, body.data(),
                                               static_cast<int>(body.size())) == 1) &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, expected) == 1 &&
            EVP_DecryptFinal_ex(ctx, plain.data() + plain.size(), &len) == 1;
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) return std::nullopt;
  return plain;
}

// Opens under `domain`, expecting it to open under no other domain byte and not without one.
inline std::optional<Bytes> OpenOnlyAs(bool encrypted, const Key32& key, ByteView envelope,
                                       uint8_t domain) {
  for (uint8_t other : kAllDomains) {
    if (other == domain) continue;
    EXPECT_FALSE(OpenByHand(encrypted, key, envelope, other).has_value())
        << "opens under domain '" << static_cast<char>(other) << "' too";
  }
  EXPECT_FALSE(OpenByHand(encrypted, key, envelope, std::nullopt).has_value())
      << "opens without a domain too";
  return OpenByHand(encrypted, key, envelope, domain);
}

// A temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "cairn-golden-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cairn::golden
