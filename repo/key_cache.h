// The master key cached in the kernel's user keyring (keyrings(7)), so that a run of commands
// derives it from the password once instead of paying the scrypt cost on every command.
//
// `cairn key unlock` puts it there with a lifetime; commands look there before asking for a
// password; `cairn key lock` (or the lifetime running out) removes it. The entry is a "user"
// key named "cairn:<repository id>", readable by the processes of the same user only: the
// agent model (ssh-agent, systemd's password cache), in kernel memory that is never swapped out
// or written to disk. Where the keyring cannot be used (no keyctl in a container's seccomp
// profile, say) nothing is cached and commands derive the key as before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "repo/keys.h"

namespace cairn {

// The keyring entry's name for a repository.
std::string KeyCacheName(std::string_view repo_id);

// Caches `key` for `ttl_s` seconds (> 0), replacing an earlier entry for the repository.
// kIOError with the kernel's reason when the keyring is not available here.
Status CacheMasterKey(std::string_view repo_id, const MasterKey& key, uint32_t ttl_s);

// The cached key, or nullopt when there is none, it expired, or the keyring is unavailable.
// The caller checks the key against the repository (a stale or foreign entry must not be used).
std::optional<MasterKey> CachedMasterKey(std::string_view repo_id);

// Removes the cached key; false when there was none.
Result<bool> ForgetCachedMasterKey(std::string_view repo_id);

}  // namespace cairn
