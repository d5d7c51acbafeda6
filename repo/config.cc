#include "repo/config.h"

#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "repo/format.h"

namespace cairn {

using nlohmann::json;

namespace {
json Body(const RepoConfig& c) {
  json j;
  j["version"] = c.version;
  j["id"] = c.id;
  j["encryption"] = c.encrypted ? "aes-256-gcm" : "none";
  j["chunker"] = {{"algorithm", "fastcdc-v1"},
                  {"min_size", c.chunker.min_size},
                  {"avg_size", c.chunker.avg_size},
                  {"max_size", c.chunker.max_size}};
  j["pack_size"] = c.pack_size;
  j["compression"] = {{"algorithm", "zstd"}, {"level", c.compression_level}};
  return j;
}

// nlohmann::json sorts object keys, so dump() is canonical for our own writer.
std::string MacOf(const json& body, const Key32& key) {
  return HmacSha256(key, AsBytes(body.dump())).Hex();
}

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The integer field `key` of j, if it is a whole number that fits T. json's own get<T>() would
// wrap an out-of-range integer into range and convert a float (undefined behaviour when it does
// not fit), so a config that says "version": -4294967295 or 1e300 would be read as something
// it does not say. Our writer only writes integers. A missing key throws, as j.at() does.
template <typename T>
Result<T> GetInt(const json& j, const char* key) {
  const json& v = j.at(key);
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<T>::max())) return static_cast<T>(u);
  } else if constexpr (std::is_signed_v<T>) {
    if (v.is_number_integer()) {
      int64_t i = v.get<int64_t>();
      if (i >= std::numeric_limits<T>::min() && i <= std::numeric_limits<T>::max())
        return static_cast<T>(i);
    }
  }
  return Status::Corruption(std::string("config: ") + key + " is not an integer in range");
}
}  // namespace

Key32 RepoConfig::MacKey(const Key32& encryption_key) {
  Id mac = HmacSha256(encryption_key, AsBytes("cairn config mac"));
  return mac.bytes;
}

Bytes RepoConfig::Encode(const Key32& mac_key) const {
  json j = Body(*this);
  std::string mac = MacOf(j, mac_key);
  j["mac"] = mac;
  std::string s = j.dump(2) + "\n";
  return Bytes(s.begin(), s.end());
}

Result<RepoConfig> RepoConfig::Decode(ByteView bytes) {
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("config is not JSON");
  try {
    RepoConfig c;
    ASSIGN_OR_RETURN(c.version, GetInt<uint32_t>(j, "version"));
    if (c.version < kOldestReadableFormat || c.version > kFormatVersion)
      return Status::Corruption("config: format version " + std::to_string(c.version) +
                                " is not supported by this cairn (reads " +
                                std::to_string(kOldestReadableFormat) + ".." +
                                std::to_string(kFormatVersion) + ")");
    c.id = j.at("id").get<std::string>();
    // The id names a local cache folder: it must be exactly what init writes.
    if (c.id.size() != 64 || !IsLowerHex(c.id))
      return Status::Corruption("config: repository id is not 64 lower-case hex digits");
    std::string enc = j.at("encryption").get<std::string>();
    if (enc != "aes-256-gcm" && enc != "none")
      return Status::Corruption("config: unknown encryption '" + enc + "'");
    c.encrypted = enc == "aes-256-gcm";
    const json& ch = j.at("chunker");
    if (ch.at("algorithm").get<std::string>() != "fastcdc-v1")
      return Status::Corruption("config: unknown chunker");
    ASSIGN_OR_RETURN(c.chunker.min_size, GetInt<uint32_t>(ch, "min_size"));
    ASSIGN_OR_RETURN(c.chunker.avg_size, GetInt<uint32_t>(ch, "avg_size"));
    ASSIGN_OR_RETURN(c.chunker.max_size, GetInt<uint32_t>(ch, "max_size"));
    RETURN_IF_ERROR_CTX(c.chunker.Validate(), "config: chunker");
    ASSIGN_OR_RETURN(c.pack_size, GetInt<uint64_t>(j, "pack_size"));
    if (c.pack_size < (1u << 20) || c.pack_size > (1ull << 32))
      return Status::Corruption("config: pack_size out of range");
    const json& co = j.at("compression");
    if (co.at("algorithm").get<std::string>() != "zstd")
      return Status::Corruption("config: unknown compression");
    ASSIGN_OR_RETURN(c.compression_level, GetInt<int>(co, "level"));
    if (c.compression_level < -7 || c.compression_level > 22)
      return Status::Corruption("config: compression level out of range");
    return c;
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("config: ") + e.what());
  }
}

Status RepoConfig::Verify(ByteView bytes, const Key32& mac_key) {
  json j = json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("mac") || !j["mac"].is_string())
    return Status::Corruption("config: missing mac");
  std::string mac = j["mac"].get<std::string>();
  j.erase("mac");
  if (MacOf(j, mac_key) != mac)
    return Status::Corruption("config: authentication failed (config does not belong to this key)");
  return Status::OK();
}

}  // namespace cairn
