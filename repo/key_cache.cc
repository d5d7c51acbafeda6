#include "repo/key_cache.h"

#include <keyutils.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cairn {

namespace {
constexpr size_t kPayloadSize = 96;  // the three 32-byte secrets, in MasterKey's order

// Processes of the same user find and read the entry even when they do not possess the user
// keyring (a cron job, PostgreSQL's archiver): the agent model. Other users see nothing.
constexpr key_perm_t kPerm = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH;

key_serial_t Find(std::string_view repo_id) {
  long id = keyctl_search(KEY_SPEC_USER_KEYRING, "user", KeyCacheName(repo_id).c_str(), 0);
  return id > 0 ? static_cast<key_serial_t>(id) : -1;
}
}  // namespace

std::string KeyCacheName(std::string_view repo_id) { return "cairn:" + std::string(repo_id); }

Status CacheMasterKey(std::string_view repo_id, const MasterKey& key, uint32_t ttl_s) {
  if (ttl_s == 0) return Status::InvalidArgument("a cached key needs a lifetime");
  uint8_t payload[kPayloadSize];
  std::memcpy(payload, key.encryption_key.data(), 32);
  std::memcpy(payload + 32, key.id_key.data(), 32);
  std::memcpy(payload + 64, key.chunker_key.data(), 32);
  key_serial_t id = add_key("user", KeyCacheName(repo_id).c_str(), payload, sizeof(payload),
                            KEY_SPEC_USER_KEYRING);
  int err = errno;
  Wipe(payload, sizeof(payload));
  if (id < 0) return Status::FromErrno(err, "the kernel keyring refused the key");
  // Without its lifetime the key would stay until reboot: take it out again if that fails.
  if (keyctl_set_timeout(id, ttl_s) != 0 || keyctl_setperm(id, kPerm) != 0) {
    err = errno;
    keyctl_invalidate(id);
    return Status::FromErrno(err, "set the cached key's lifetime");
  }
  return Status::OK();
}

std::optional<MasterKey> CachedMasterKey(std::string_view repo_id) {
  key_serial_t id = Find(repo_id);
  if (id < 0) return std::nullopt;
  void* buf = nullptr;
  int n = keyctl_read_alloc(id, &buf);
  if (n < 0) return std::nullopt;
  std::optional<MasterKey> key;
  if (static_cast<size_t>(n) == kPayloadSize) {
    const uint8_t* p = static_cast<const uint8_t*>(buf);
    key.emplace();
    std::memcpy(key->encryption_key.data(), p, 32);
    std::memcpy(key->id_key.data(), p + 32, 32);
    std::memcpy(key->chunker_key.data(), p + 64, 32);
  }
  Wipe(buf, static_cast<size_t>(n));
  std::free(buf);
  return key;
}

Result<bool> ForgetCachedMasterKey(std::string_view repo_id) {
  key_serial_t id = Find(repo_id);
  if (id < 0) return false;
  // Invalidate rather than unlink: the key is gone for every keyring that links it.
  if (keyctl_invalidate(id) != 0) return Status::FromErrno(errno, "remove the cached key");
  return true;
}

}  // namespace cairn
