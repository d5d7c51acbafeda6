// cairn diff A B: what changed between two snapshots.
#include <iostream>

#include "cli/context.h"
#include "repo/diff.h"

namespace cairn::cli {

namespace {
int RunDiff(const std::string& a, const std::string& b) {
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<SnapshotSelection> before_sel = SelectSnapshot(repo->get(), a);
  if (!before_sel.ok()) return Fail(before_sel.status());
  Result<SnapshotSelection> after_sel = SelectSnapshot(repo->get(), b);
  if (!after_sel.ok()) return Fail(after_sel.status());
  const SnapshotRef* before = &before_sel->ref;
  const SnapshotRef* after = &after_sel->ref;
  nlohmann::json changes = nlohmann::json::array();
  const char* marks[] = {"+", "-", "M", "m", "T"};
  Result<DiffStats> st = DiffTrees(repo->get(), before->snapshot.tree, after->snapshot.tree,
                                   [&](const DiffEntry& e) {
                                     if (Globals().json) {
                                       nlohmann::json j = {{"change", ChangeName(e.change)}, {"path", e.path}};
                                       if (e.before) j["size_before"] = e.before->size;
                                       if (e.after) j["size_after"] = e.after->size;
                                       changes.push_back(j);
                                     } else {
                                       std::cout << marks[static_cast<int>(e.change)] << "  " << e.path << "\n";
                                     }
                                   });
  if (!st.ok()) return Fail(st.status());
  if (Globals().json) {
    PrintJson({{"before", before->id.Hex()}, {"after", after->id.Hex()}, {"added", st->added},
               {"removed", st->removed}, {"modified", st->content}, {"metadata", st->metadata},
               {"type", st->type}, {"changes", changes}});
  } else if (!Globals().quiet) {
    std::cout << st->added << " added, " << st->removed << " removed, " << st->content << " modified, "
              << st->metadata << " metadata only, " << st->type << " changed type\n";
  }
  return st->identical() ? kExitOk : kExitDifferent;
}
}  // namespace

void RegisterDiff(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("diff", "Compare two snapshots (exit 17 when they differ)");
  cmd->add_option("before", *a, "Older snapshot")->required();
  cmd->add_option("after", *b, "Newer snapshot")->required();
  cmd->callback([a, b, exit_code] { *exit_code = RunDiff(*a, *b); });
}

}  // namespace cairn::cli
