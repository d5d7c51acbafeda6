// cairn key unlock / lock: keep the master key in the kernel keyring for a while, so the
// commands of a session (a rollback, its diff, a test restore) skip the password's key
// derivation (repo/key_cache.h).
#include <ctime>
#include <iostream>

#include "cli/context.h"
#include "repo/key_cache.h"

namespace cairn::cli {

namespace {
constexpr uint32_t kMaxLifetimeS = 366u * 24 * 3600;

// "90s", "15min", "8h", "7d", "1h30min". No bare "m": elsewhere it means months.
Result<uint32_t> ParseLifetime(const std::string& spec) {
  auto bad = [&] {
    return Status::InvalidArgument("a lifetime looks like 90s, 15min, 8h, 7d or 1h30min: '" + spec + "'");
  };
  uint64_t total = 0;
  size_t i = 0;
  if (spec.empty()) return bad();
  while (i < spec.size()) {
    size_t j = i;
    while (j < spec.size() && spec[j] >= '0' && spec[j] <= '9') ++j;
    size_t k = j;
    while (k < spec.size() && (spec[k] < '0' || spec[k] > '9')) ++k;
    if (j == i || j - i > 9) return bad();
    uint64_t n = std::stoull(spec.substr(i, j - i));
    std::string unit = spec.substr(j, k - j);
    uint64_t mult = unit == "s" ? 1 : unit == "min" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (mult == 0) return bad();
    total += n * mult;
    if (total > kMaxLifetimeS) return Status::InvalidArgument("a cached key lives at most 366 days");
    i = k;
  }
  if (total == 0) return bad();
  return static_cast<uint32_t>(total);
}

struct Loaded {
  std::string id;
  std::optional<MasterKey> key;  // absent: the repository is not encrypted
};

Result<Loaded> LoadKey() {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenBackend(false));
  Result<Bytes> config = backend->Get({ObjectType::kConfig, ""});
  if (!config.ok()) return Status::RepoNotFound("no repository at " + backend->Location());
  ASSIGN_OR_RETURN(RepoConfig parsed, RepoConfig::Decode(*config));
  Loaded out;
  out.id = parsed.id;
  if (!parsed.encrypted) return out;
  ASSIGN_OR_RETURN(std::string password, ReadPassword(false));
  ASSIGN_OR_RETURN(MasterKey key, LoadMasterKey(backend.get(), password));
  RETURN_IF_ERROR(RepoConfig::Verify(*config, RepoConfig::MacKey(key.encryption_key)));
  out.key = key;
  return out;
}

Status RunUnlock(const std::string& lifetime) {
  ASSIGN_OR_RETURN(uint32_t ttl, ParseLifetime(lifetime));
  ASSIGN_OR_RETURN(Loaded loaded, LoadKey());
  if (!loaded.key) {
    if (Globals().json)
      PrintJson({{"repository", loaded.id}, {"cached", false}, {"encrypted", false}});
    else if (!Globals().quiet)
      std::cout << "the repository is not encrypted: commands need no password, nothing to cache\n";
    return Status::OK();
  }
  Status s = CacheMasterKey(loaded.id, *loaded.key, ttl);
  if (!s.ok())
    return Status::IOError(s.message() +
                           " (the kernel keyring is not available here, e.g. a container's seccomp "
                           "profile forbids keyctl): commands will derive the key from the password "
                           "each time");
  int64_t until = static_cast<int64_t>(time(nullptr)) + ttl;
  if (Globals().json) {
    PrintJson({{"repository", loaded.id}, {"cached", true}, {"keyring_entry", KeyCacheName(loaded.id)},
               {"lifetime_s", ttl}, {"expires", until}});
  } else if (!Globals().quiet) {
    std::cout << "key of repository " << loaded.id.substr(0, 8) << " cached in the kernel keyring until "
              << FormatTime(until * 1000000000) << ": this user's commands need no password until "
              << "then; `cairn key lock` forgets it now\n";
  }
  return Status::OK();
}

Status RunLock() {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenBackend(false));
  Result<Bytes> config = backend->Get({ObjectType::kConfig, ""});
  if (!config.ok()) return Status::RepoNotFound("no repository at " + backend->Location());
  ASSIGN_OR_RETURN(RepoConfig parsed, RepoConfig::Decode(*config));
  ASSIGN_OR_RETURN(bool removed, ForgetCachedMasterKey(parsed.id));
  if (Globals().json)
    PrintJson({{"repository", parsed.id}, {"removed", removed}});
  else if (!Globals().quiet)
    std::cout << (removed ? "cached key removed: commands ask for the password again\n"
                          : "no key was cached for this repository\n");
  return Status::OK();
}
}  // namespace

void RegisterKey(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("key", "Cache the repository key for a while, or forget it");
  cmd->require_subcommand(1);
  auto lifetime = std::make_shared<std::string>("15min");
  CLI::App* unlock = cmd->add_subcommand(
      "unlock", "Check the password once and keep the key in the kernel keyring, readable by this user only");
  unlock->add_option("--for", *lifetime, "How long the key stays cached: 90s, 15min, 8h, 7d (default 15min)");
  unlock->callback([lifetime, exit_code] {
    Status s = RunUnlock(*lifetime);
    if (!s.ok()) *exit_code = Fail(s);
  });
  CLI::App* lock = cmd->add_subcommand("lock", "Forget the cached key now");
  lock->callback([exit_code] {
    Status s = RunLock();
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace cairn::cli
