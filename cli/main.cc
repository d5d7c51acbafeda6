// cairn: a content-addressed, deduplicating backup store for disaster recovery.
// The CLI is a thin layer: each command parses flags, calls the library, prints.

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/context.h"
#include "common/allocator.h"

int main(int argc, char** argv) {
  cairn::TuneAllocator();
  using namespace cairn::cli;
  CLI::App app{"cairn: deduplicating, encrypted backups for disaster recovery"};
  app.require_subcommand(1);
  app.fallthrough();  // global flags (--json, --repo…) also work after the command name
  app.set_help_all_flag("--help-all", "Show help for every command");
  GlobalOptions& g = Globals();
  app.add_option("-r,--repo", g.repo, "Repository folder (or set CAIRN_REPO)");
  app.add_option("--cache-dir", g.cache_dir,
                 "Folder for the local index (or CAIRN_CACHE_DIR; default ~/.cache/cairn)");
  app.add_flag("--json", g.json, "Machine-readable output");
  app.add_flag("-q,--quiet", g.quiet, "Only errors");
  app.add_flag("--no-key-cache", g.no_key_cache,
               "Derive the key from the password even if `cairn key unlock` cached it");
  int exit_code = kExitOk;
  RegisterInit(app, &exit_code);
  RegisterSnapshot(app, &exit_code);
  RegisterSnapshots(app, &exit_code);
  RegisterLs(app, &exit_code);
  RegisterRestore(app, &exit_code);
  RegisterIndex(app, &exit_code);
  RegisterScrub(app, &exit_code);
  RegisterBench(app, &exit_code);
  RegisterForget(app, &exit_code);
  RegisterPrune(app, &exit_code);
  RegisterStats(app, &exit_code);
  RegisterRepair(app, &exit_code);
  RegisterDiff(app, &exit_code);
  RegisterDemo(app, &exit_code);
  RegisterKey(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}
