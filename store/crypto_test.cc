#include "store/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace cairn {
namespace {

Bytes Pattern(size_t n, uint32_t seed = 1) {
  Bytes b(n);
  uint32_t x = seed;
  for (auto& v : b) {
    x = x * 1664525 + 1013904223;
    v = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

Key32 KeyFrom(std::string_view s) {
  Key32 k{};
  std::memcpy(k.data(), s.data(), std::min(s.size(), k.size()));
  return k;
}

// ---- hashes ----

TEST(CryptoSha256, KnownAnswerAbc) {
  EXPECT_EQ(Sha256(AsBytes("abc")).Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256({}).Hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoSha256, StreamInPiecesEqualsOneShot) {
  Bytes data = Pattern(100'000);
  Sha256Stream s;
  size_t pos = 0;
  for (size_t piece : {0, 1, 63, 64, 65, 1000, 4096}) {
    s.Update(ByteView(data).subspan(pos, piece));
    pos += piece;
  }
  s.Update(ByteView(data).subspan(pos));
  EXPECT_EQ(s.Finish(), Sha256(data));

  s.Reset();
  s.Update(AsBytes("abc"));
  EXPECT_EQ(s.Finish(), Sha256(AsBytes("abc")));
}

// RFC 4231, test case 2.
constexpr std::string_view kJefeData = "what do ya want for nothing?";
constexpr std::string_view kJefeMac =
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";

TEST(CryptoHmac, Rfc4231Case2) {
  EXPECT_EQ(HmacSha256(AsBytes("Jefe"), AsBytes(kJefeData)).Hex(), kJefeMac);
}

TEST(CryptoIdHasher, Rfc4231Case2) {
  // HMAC zero-pads short keys to the block size, so "Jefe" padded to 32
  // bytes is the same key.
  IdHasher h(KeyFrom("Jefe"));
  EXPECT_EQ(h.Hash(AsBytes(kJefeData)).Hex(), kJefeMac);
}

TEST(CryptoIdHasher, MatchesHmacSha256) {
  Key32 key = RandomKey();
  IdHasher h(key);
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{55}, size_t{56}, size_t{64}, size_t{4096}, size_t{1} << 20}) {
    Bytes data = Pattern(n, static_cast<uint32_t>(n));
    EXPECT_EQ(h.Hash(data), HmacSha256(key, data)) << "size " << n;
  }
}

TEST(CryptoIdHasher, DifferentKeysGiveDifferentIds) {
  IdHasher a(KeyFrom("a")), b(KeyFrom("b"));
  EXPECT_NE(a.Hash(AsBytes("x")), b.Hash(AsBytes("x")));
  // Interleaved use of two hashers on one thread must not mix their states.
  EXPECT_EQ(a.Hash(AsBytes("x")), HmacSha256(KeyFrom("a"), AsBytes("x")));
}

// ---- Sealer ----

class CryptoSealerTest : public ::testing::TestWithParam<bool> {
 protected:
  Sealer sealer_{KeyFrom("sealer key"), GetParam()};
};

TEST_P(CryptoSealerTest, RoundTrip) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1} << 20}) {
    Bytes plain = Pattern(n);
    Bytes env = {0xaa, 0xbb};  // Seal appends
    sealer_.Seal(plain, &env);
    ASSERT_EQ(env.size(), 2 + n + Sealer::kOverhead);
    auto opened = sealer_.Open(ByteView(env).subspan(2));
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain) << "size " << n;
  }
}

TEST_P(CryptoSealerTest, EnvelopeLayout) {
  Bytes plain = Pattern(100);
  Bytes env;
  sealer_.Seal(plain, &env);
  ByteView nonce = ByteView(env).first(Sealer::kNonceSize);
  ByteView body = ByteView(env).subspan(Sealer::kNonceSize, plain.size());
  bool zero_nonce = std::all_of(nonce.begin(), nonce.end(), [](uint8_t b) { return b == 0; });
  bool body_is_plain = std::equal(body.begin(), body.end(), plain.begin());
  if (GetParam()) {
    EXPECT_FALSE(zero_nonce);
    EXPECT_FALSE(body_is_plain);
  } else {
    EXPECT_TRUE(zero_nonce);
    EXPECT_TRUE(body_is_plain);
    Id digest = Sha256(plain);
    EXPECT_TRUE(std::equal(env.end() - Sealer::kTagSize, env.end(), digest.bytes.begin()));
  }
}

TEST_P(CryptoSealerTest, OpenInPlaceLeavesThePlaintextInTheBody) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1} << 20}) {
    Bytes plain = Pattern(n);
    Bytes env;
    sealer_.Seal(plain, &env);
    auto opened = sealer_.OpenInPlace(env, SealDomain::kNone);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->data(), env.data() + Sealer::kNonceSize);
    EXPECT_TRUE(std::equal(opened->begin(), opened->end(), plain.begin(), plain.end())) << "size " << n;
  }
}

TEST_P(CryptoSealerTest, OpenInPlaceRefusesTamperingAndWipesTheBody) {
  Bytes plain = Pattern(64);
  Bytes env;
  sealer_.Seal(plain, SealDomain::kNone, &env);
  Bytes short_env(Sealer::kOverhead - 1);
  EXPECT_EQ(sealer_.OpenInPlace(short_env, SealDomain::kNone).status().code(), Code::kCorruption);
  for (size_t i : {size_t{0}, Sealer::kNonceSize + 5, env.size() - 1}) {
    Bytes bad = env;
    bad[i] ^= 0x01;
    auto opened = sealer_.OpenInPlace(bad, SealDomain::kNone);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_EQ(opened.status().message(), "authentication failed");
    if (GetParam()) {
      // Decrypted but unauthenticated bytes must not stay behind.
      ByteView body = ByteView(bad).subspan(Sealer::kNonceSize, plain.size());
      EXPECT_TRUE(std::all_of(body.begin(), body.end(), [](uint8_t b) { return b == 0; })) << "byte " << i;
    }
  }
}

TEST_P(CryptoSealerTest, EveryFlippedByteFails) {
  Bytes plain = Pattern(20);
  Bytes env;
  sealer_.Seal(plain, &env);
  for (size_t i = 0; i < env.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      Bytes bad = env;
      bad[i] ^= mask;
      auto opened = sealer_.Open(bad);
      ASSERT_FALSE(opened.ok()) << "byte " << i << " mask " << int(mask);
      EXPECT_EQ(opened.status().code(), Code::kCorruption);
      EXPECT_EQ(opened.status().message(), "authentication failed");
    }
  }
}

TEST_P(CryptoSealerTest, TruncatedEnvelopeFails) {
  Bytes env;
  sealer_.Seal(Pattern(10), &env);
  for (size_t len = 0; len < env.size(); ++len) {
    auto opened = sealer_.Open(ByteView(env).first(len));
    ASSERT_FALSE(opened.ok()) << "length " << len;
    EXPECT_EQ(opened.status().code(), Code::kCorruption);
  }
}

TEST_P(CryptoSealerTest, ExtendedEnvelopeFails) {
  Bytes env;
  sealer_.Seal(Pattern(10), &env);
  env.push_back(0);
  EXPECT_EQ(sealer_.Open(env).status().code(), Code::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(Crypto, CryptoSealerTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Encrypted" : "Plain"; });

TEST(CryptoSealer, SealsOfSamePlaintextDiffer) {
  Sealer s(RandomKey(), true);
  Bytes a, b;
  s.Seal(AsBytes("same"), &a);
  s.Seal(AsBytes("same"), &b);
  EXPECT_NE(a, b);
  EXPECT_FALSE(std::equal(a.begin(), a.begin() + Sealer::kNonceSize, b.begin()));
}

TEST(CryptoSealer, WrongKeyFails) {
  Sealer s(KeyFrom("right"), true), other(KeyFrom("wrong"), true);
  Bytes env;
  s.Seal(AsBytes("secret"), &env);
  auto opened = other.Open(env);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kCorruption);
}

TEST(CryptoSealer, ModesDoNotOpenEachOther) {
  Key32 key = KeyFrom("k");
  Sealer enc(key, true), plain(key, false);
  Bytes e, p;
  enc.Seal(AsBytes("data"), &e);
  plain.Seal(AsBytes("data"), &p);
  EXPECT_EQ(plain.Open(e).status().code(), Code::kCorruption);
  EXPECT_EQ(enc.Open(p).status().code(), Code::kCorruption);
}

TEST(CryptoSealer, PlainModeRejectsNonZeroNonceWithValidTag) {
  Sealer plain(KeyFrom("k"), false);
  Bytes env;
  plain.Seal(AsBytes("data"), &env);
  env[3] = 1;  // body and tag still agree
  EXPECT_EQ(plain.Open(env).status().code(), Code::kCorruption);
}

// ---- scrypt ----

TEST(CryptoScrypt, Rfc7914Vectors) {
  // The vectors are 64 bytes; scrypt's output is a PBKDF2 stream, so the
  // first 32 bytes do not depend on the requested length.
  auto k1 = DeriveKey("password", AsBytes("NaCl"), {.n = 1024, .r = 8, .p = 16});
  ASSERT_TRUE(k1.ok()) << k1.status().ToString();
  EXPECT_EQ(ToHex(*k1), "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162");

  auto k2 = DeriveKey("pleaseletmein", AsBytes("SodiumChloride"), {.n = 16384, .r = 8, .p = 1});
  ASSERT_TRUE(k2.ok()) << k2.status().ToString();
  EXPECT_EQ(ToHex(*k2), "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2");

  auto k0 = DeriveKey("", {}, {.n = 16, .r = 1, .p = 1});
  ASSERT_TRUE(k0.ok()) << k0.status().ToString();
  EXPECT_EQ(ToHex(*k0), "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442");
}

TEST(CryptoScrypt, BadParamsRejected) {
  for (ScryptParams p :
       {ScryptParams{.n = 0, .r = 8, .p = 1}, ScryptParams{.n = 1, .r = 8, .p = 1},
        ScryptParams{.n = 1000, .r = 8, .p = 1}, ScryptParams{.n = 1024, .r = 0, .p = 1},
        ScryptParams{.n = 1024, .r = 8, .p = 0},
        ScryptParams{.n = uint64_t{1} << 40, .r = 8, .p = 1},
        ScryptParams{.n = uint64_t{1} << 63, .r = 8, .p = 1},
        ScryptParams{.n = 1 << 20, .r = 1u << 31, .p = 1},
        ScryptParams{.n = 2, .r = 1u << 20, .p = 1u << 12}}) {
    auto k = DeriveKey("pw", AsBytes("salt"), p);
    ASSERT_FALSE(k.ok()) << p.n << " " << p.r << " " << p.p;
    EXPECT_EQ(k.status().code(), Code::kInvalidArgument);
  }
}

TEST(CryptoRandom, BytesDifferAndHaveRequestedSize) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  EXPECT_EQ(RandomBytes(37).size(), 37u);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
  EXPECT_NE(RandomKey(), RandomKey());
}

TEST(CryptoWipe, ZeroesMemory) {
  uint8_t buf[16];
  std::memset(buf, 0x5a, sizeof(buf));
  Wipe(buf, sizeof(buf));
  for (uint8_t b : buf) EXPECT_EQ(b, 0);
}

// ---- concurrency ----

TEST(CryptoConcurrency, IdHasherAndSealerFromFourThreads) {
  Key32 id_key = RandomKey();
  IdHasher hasher(id_key);
  Sealer enc(RandomKey(), true), plain(RandomKey(), false);
  std::vector<Bytes> inputs;
  std::vector<Id> expected;
  for (uint32_t i = 0; i < 16; ++i) {
    inputs.push_back(Pattern(1000 + 4099 * i, i));
    expected.push_back(HmacSha256(id_key, inputs.back()));
  }
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (size_t i = 0; i < inputs.size(); ++i) {
          if (hasher.Hash(inputs[i]) != expected[i]) ++failures[t];
          for (const Sealer* s : {&enc, &plain}) {
            Bytes env;
            s->Seal(inputs[i], &env);
            auto opened = s->Open(env);
            if (!opened.ok() || *opened != inputs[i]) ++failures[t];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace cairn
