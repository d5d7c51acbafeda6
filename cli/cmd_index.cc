// cairn index rebuild: recreate the local index from index files or from packs.
#include <iostream>

#include "cli/context.h"

namespace cairn::cli {

namespace {
int RunRebuild(bool from_packs) {
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<RebuildStats> st = (*repo)->RebuildIndex(from_packs);
  if (!st.ok()) return Fail(st.status());
  for (const std::string& p : st->problems) std::cerr << "cairn: " << p << "\n";
  for (const std::string& p : st->repaired) std::cerr << "cairn: repaired: " << p << "\n";
  if (Globals().json) {
    PrintJson({{"index_files", st->index_files}, {"packs", st->packs}, {"blobs", st->blobs},
               {"index_files_written", st->index_files_written}, {"problems", st->problems},
               {"repaired", st->repaired}});
  } else if (!Globals().quiet) {
    std::cout << "index rebuilt from " << (from_packs ? "packs" : "index files") << ": "
              << st->packs << " packs, " << st->blobs << " blobs";
    if (st->index_files_written) std::cout << ", wrote an index file for unindexed packs";
    std::cout << "\n";
  }
  return st->problems.empty() ? kExitOk : kExitDamage;
}
}  // namespace

void RegisterIndex(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("index", "Maintain the local index");
  cmd->require_subcommand(1);
  auto from_packs = std::make_shared<bool>(false);
  CLI::App* rebuild = cmd->add_subcommand("rebuild", "Rebuild the local index");
  rebuild->add_flag("--from-packs", *from_packs,
                    "Read every pack's trailer instead of the index files (slow, thorough)");
  rebuild->callback([from_packs, exit_code] { *exit_code = RunRebuild(*from_packs); });
}

}  // namespace cairn::cli
