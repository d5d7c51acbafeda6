#include "repo/config.h"

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
    c.version = j.at("version").get<uint32_t>();
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
    c.chunker.min_size = ch.at("min_size").get<uint32_t>();
    c.chunker.avg_size = ch.at("avg_size").get<uint32_t>();
    c.chunker.max_size = ch.at("max_size").get<uint32_t>();
    RETURN_IF_ERROR_CTX(c.chunker.Validate(), "config: chunker");
    c.pack_size = j.at("pack_size").get<uint64_t>();
    if (c.pack_size < (1u << 20) || c.pack_size > (1ull << 32))
      return Status::Corruption("config: pack_size out of range");
    const json& co = j.at("compression");
    if (co.at("algorithm").get<std::string>() != "zstd")
      return Status::Corruption("config: unknown compression");
    c.compression_level = co.at("level").get<int>();
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
