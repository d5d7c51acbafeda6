// cairn init: create a repository.
#include <iostream>

#include "cli/context.h"

namespace cairn::cli {

namespace {
struct InitFlags {
  bool no_encryption = false;
  uint32_t avg_chunk_kib = 0;
  uint32_t pack_mib = 0;
  int level = kDefaultCompressionLevel;
};

Status RunInit(const InitFlags& f) {
  InitOptions options;
  options.encrypt = !f.no_encryption;
  options.compression_level = f.level;
  if (f.avg_chunk_kib) {
    uint32_t avg = f.avg_chunk_kib * 1024;
    options.chunker = ChunkerParams{avg / 4, avg, avg * 4};
  }
  if (f.pack_mib) options.pack_size = uint64_t{f.pack_mib} << 20;
  RETURN_IF_ERROR(options.chunker.Validate());
  // Refuse before asking for a password that would not be used.
  if (OpenBackend(false).ok()) {
    ASSIGN_OR_RETURN(std::string where, RepoLocation());
    return Status::AlreadyExists("a repository already exists at " + where);
  }
  std::string password;
  if (options.encrypt) {
    ASSIGN_OR_RETURN(password, ReadPassword(true));
    if (password.empty()) return Status::InvalidArgument("empty password");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenBackend(true));
  RETURN_IF_ERROR(Repository::Init(backend.get(), password, options));
  if (Globals().json) {
    PrintJson({{"repository", backend->Location()}, {"encrypted", options.encrypt}});
  } else if (!Globals().quiet) {
    std::cout << "created " << (options.encrypt ? "encrypted" : "UNENCRYPTED")
              << " repository at " << backend->Location() << "\n";
    if (options.encrypt)
      std::cout << "keep the password safe: without it the backups cannot be read\n";
  }
  return Status::OK();
}
}  // namespace

void RegisterInit(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<InitFlags>();
  CLI::App* cmd = app.add_subcommand("init", "Create a repository in an empty or new folder");
  cmd->add_flag("--no-encryption", flags->no_encryption,
                "Store data unencrypted (ids stay keyed, checksums stay)");
  cmd->add_option("--avg-chunk-kib", flags->avg_chunk_kib,
                  "Average chunk size in KiB, a power of two (min = avg/4, max = 4*avg)");
  cmd->add_option("--pack-mib", flags->pack_mib, "Target pack size in MiB");
  cmd->add_option("--compression-level", flags->level, "zstd level")->check(CLI::Range(-7, 22));
  cmd->callback([flags, exit_code] {
    Status s = RunInit(*flags);
    *exit_code = s.ok() ? kExitOk : Fail(s);
  });
}

}  // namespace cairn::cli
