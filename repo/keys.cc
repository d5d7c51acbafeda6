#include "repo/keys.h"

#include <nlohmann/json.hpp>

namespace cairn {

using nlohmann::json;

namespace {
constexpr size_t kMasterSize = 96;

Bytes Pack(const MasterKey& k) {
  Bytes b;
  b.insert(b.end(), k.encryption_key.begin(), k.encryption_key.end());
  b.insert(b.end(), k.id_key.begin(), k.id_key.end());
  b.insert(b.end(), k.chunker_key.begin(), k.chunker_key.end());
  return b;
}

MasterKey Unpack(ByteView b) {
  MasterKey k;
  std::copy(b.begin(), b.begin() + 32, k.encryption_key.begin());
  std::copy(b.begin() + 32, b.begin() + 64, k.id_key.begin());
  std::copy(b.begin() + 64, b.begin() + 96, k.chunker_key.begin());
  return k;
}
}  // namespace

MasterKey MasterKey::Generate() {
  MasterKey k;
  k.encryption_key = RandomKey();
  k.id_key = RandomKey();
  k.chunker_key = RandomKey();
  return k;
}

Result<Bytes> SealKeyFile(const MasterKey& key, bool encrypt, std::string_view password,
                          const ScryptParams& params) {
  Bytes plain = Pack(key);
  json j;
  j["version"] = 1;
  if (encrypt) {
    Bytes salt = RandomBytes(32);
    ASSIGN_OR_RETURN(Key32 kek, DeriveKey(password, salt, params));
    Bytes sealed;
    Sealer(kek, true).Seal(plain, SealDomain::kKeyFile, &sealed);
    Wipe(kek.data(), kek.size());
    j["kdf"] = "scrypt";
    j["n"] = params.n;
    j["r"] = params.r;
    j["p"] = params.p;
    j["salt"] = ToHex(salt);
    j["data"] = ToHex(sealed);
  } else {
    j["kdf"] = "none";
    j["data"] = ToHex(plain);
  }
  Wipe(plain.data(), plain.size());
  std::string s = j.dump(2) + "\n";
  return Bytes(s.begin(), s.end());
}

Result<MasterKey> OpenKeyFile(ByteView file, std::string_view password) {
  json j = json::parse(file.begin(), file.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("key file is not JSON");
  auto str = [&](const char* k) -> std::string {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto num = [&](const char* k) -> uint64_t {
    auto it = j.find(k);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  if (num("version") != 1) return Status::Corruption("key file: unsupported version");
  ASSIGN_OR_RETURN_CTX(Bytes data, FromHex(str("data")), "key file: data");
  std::string kdf = str("kdf");
  if (kdf == "none") {
    if (data.size() != kMasterSize) return Status::Corruption("key file: bad key size");
    return Unpack(data);
  }
  if (kdf != "scrypt") return Status::Corruption("key file: unknown kdf '" + kdf + "'");
  // Bound the work a hostile key file can demand (DeriveKey also refuses more than 2 GiB). The
  // check comes before narrowing, so r = 2^32 + 8 is refused rather than read as 8.
  uint64_t n = num("n"), r = num("r"), p = num("p");
  if (n < 2 || n > (1u << 22) || r < 1 || r > 32 || p < 1 || p > 16)
    return Status::Corruption("key file: scrypt parameters out of range");
  ScryptParams params;
  params.n = n;
  params.r = static_cast<uint32_t>(r);
  params.p = static_cast<uint32_t>(p);
  ASSIGN_OR_RETURN_CTX(Bytes salt, FromHex(str("salt")), "key file: salt");
  ASSIGN_OR_RETURN(Key32 kek, DeriveKey(password, salt, params));
  Result<Bytes> plain = Sealer(kek, true).Open(data, SealDomain::kKeyFile);
  Wipe(kek.data(), kek.size());
  if (!plain.ok()) return Status::WrongPassword("wrong password or damaged key file");
  if (plain->size() != kMasterSize) return Status::Corruption("key file: bad key size");
  MasterKey k = Unpack(*plain);
  Wipe(plain->data(), plain->size());
  return k;
}

Result<MasterKey> LoadMasterKey(Backend* backend, std::string_view password) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(backend->List(ObjectType::kKey, [&](const std::string& name, uint64_t) {
    names.push_back(name);
    return Status::OK();
  }));
  if (names.empty()) return Status::Corruption("repository has no key files");
  std::sort(names.begin(), names.end());
  Status last = Status::WrongPassword("wrong password: no key file opens with it");
  for (const auto& name : names) {
    ASSIGN_OR_RETURN(Bytes file, backend->Get({ObjectType::kKey, name}));
    Result<MasterKey> k = OpenKeyFile(file, password);
    if (k.ok()) return k;
    if (k.status().code() != Code::kWrongPassword) last = k.status().WithContext("keys/" + name);
  }
  return last;
}

}  // namespace cairn
