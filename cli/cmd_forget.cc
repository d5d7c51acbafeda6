// cairn forget: apply a retention policy and remove the snapshots it does not keep.
#include <iostream>

#include "cli/context.h"
#include "repo/retention.h"

namespace cairn::cli {

namespace {
struct ForgetFlags {
  std::vector<std::string> ids;
  RetentionPolicy policy;
  std::string within, group_by = "host,paths,kind";
  bool dry_run = false, prune = false;
  PruneFlags prune_flags;
};

// Forgets named snapshots. A full 64-digit name is removed even if the object cannot be read:
// that is how an operator gets rid of a damaged snapshot object.
int ForgetIds(Repository* repo, const ForgetFlags& f) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& ref : f.ids) {
    Id id;
    Result<Id> full = ref.size() == 64 ? Id::FromHex(ref) : Result<Id>(Status::NotFound(""));
    if (full.ok()) {
      id = *full;
    } else {
      Result<SnapshotRef> snap = FindSnapshot(repo, ref);
      if (!snap.ok()) return Fail(snap.status());
      id = snap->id;
    }
    if (!f.dry_run) {
      Status s = repo->ForgetSnapshot(id);
      if (!s.ok()) return Fail(s);
    }
    out.push_back(id.Hex());
    if (!Globals().json && !Globals().quiet)
      std::cout << (f.dry_run ? "would remove " : "removed ") << id.ShortHex() << "\n";
  }
  if (!Globals().json) return f.prune && !f.dry_run ? PruneAndReport(repo, f.prune_flags) : kExitOk;
  nlohmann::json j = {{"dry_run", f.dry_run}, {"removed", out}};
  int code = f.prune && !f.dry_run ? PruneAndReport(repo, f.prune_flags, &j["prune"]) : kExitOk;
  PrintJson(j);
  return code;
}

int RunForget(ForgetFlags f) {
  if (!f.ids.empty()) {
    if (!f.policy.empty() || !f.within.empty())
      return Fail(Status::InvalidArgument("give snapshot ids or --keep-* options, not both"));
    Result<std::unique_ptr<Repository>> repo = OpenRepository();
    if (!repo.ok()) return Fail(repo.status());
    return ForgetIds(repo->get(), f);
  }
  if (!f.within.empty()) {
    Result<int64_t> ns = ParseDurationNs(f.within);
    if (!ns.ok()) return Fail(ns.status());
    f.policy.within_ns = *ns;
  }
  if (f.policy.empty())
    return Fail(Status::InvalidArgument(
        "no retention policy: give at least one --keep-* option (forget never removes everything)"));
  Result<GroupBy> group_by = GroupBy::Parse(f.group_by);
  if (!group_by.ok()) return Fail(group_by.status());
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<std::vector<SnapshotRef>> all = (*repo)->ListSnapshots();
  if (!all.ok()) return Fail(all.status());
  PrintNewWarnings(repo->get());
  std::vector<RetentionGroup> groups = ApplyRetention(*all, f.policy, *group_by);
  nlohmann::json out = nlohmann::json::array();
  uint64_t removed = 0, kept = 0;
  for (const RetentionGroup& g : groups) {
    nlohmann::json jg = {{"group", g.key}, {"snapshots", nlohmann::json::array()}};
    if (!Globals().json && !Globals().quiet) std::cout << g.key << ":\n";
    for (const RetentionDecision& d : g.decisions) {
      std::string reasons;
      for (const auto& r : d.reasons) reasons += (reasons.empty() ? "" : ", ") + r;
      jg["snapshots"].push_back({{"id", d.snapshot.id.Hex()}, {"time", FormatTime(d.snapshot.snapshot.time_ns)},
                                 {"keep", d.keep}, {"reasons", d.reasons}});
      if (!Globals().json && !Globals().quiet)
        std::cout << "  " << (d.keep ? "keep  " : "remove") << "  " << d.snapshot.id.ShortHex() << "  "
                  << FormatTime(d.snapshot.snapshot.time_ns) << "  " << reasons << "\n";
      if (d.keep) {
        ++kept;
        continue;
      }
      ++removed;
      if (f.dry_run) continue;
      Status s = (*repo)->ForgetSnapshot(d.snapshot.id);
      if (!s.ok()) return Fail(s);
    }
    out.push_back(jg);
  }
  if (Globals().json) {
    nlohmann::json j = {{"dry_run", f.dry_run}, {"kept", kept}, {"removed", removed}, {"groups", out}};
    int code = f.prune && !f.dry_run ? PruneAndReport(repo->get(), f.prune_flags, &j["prune"]) : kExitOk;
    PrintJson(j);
    return code;
  } else if (!Globals().quiet) {
    std::cout << (f.dry_run ? "would remove " : "removed ") << removed << " snapshots, kept " << kept
              << (f.dry_run ? " (dry run: nothing changed)" : "") << "\n";
    if (!f.dry_run && removed)
      if (!f.prune) std::cout << "their data stays in the repository until it is pruned\n";
  }
  if (f.prune && !f.dry_run) return PruneAndReport(repo->get(), f.prune_flags);
  return kExitOk;
}
}  // namespace

void RegisterForget(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<ForgetFlags>();
  CLI::App* cmd = app.add_subcommand("forget", "Remove snapshots a retention policy does not keep, or named ones");
  cmd->add_option("ids", f->ids, "Snapshots to remove (ids or unique prefixes) instead of a policy");
  cmd->add_option("--keep-last", f->policy.last, "Keep the N newest snapshots");
  cmd->add_option("--keep-hourly", f->policy.hourly, "Keep the newest snapshot of each of the last N hours");
  cmd->add_option("--keep-daily", f->policy.daily, "... of each of the last N days");
  cmd->add_option("--keep-weekly", f->policy.weekly, "... of each of the last N ISO weeks");
  cmd->add_option("--keep-monthly", f->policy.monthly, "... of each of the last N months");
  cmd->add_option("--keep-yearly", f->policy.yearly, "... of each of the last N years");
  cmd->add_option("--keep-within", f->within, "Keep everything within this of the newest (7d, 36h, 1y6m)");
  cmd->add_option("--keep-tag", f->policy.tags, "Keep snapshots with this tag (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--group-by", f->group_by, "Judge groups separately: host,paths,kind,tags (default host,paths,kind)");
  cmd->add_flag("--dry-run,-n", f->dry_run, "Show what would be kept and removed, and why; change nothing");
  cmd->add_flag("--prune", f->prune, "Then prune: free the space the removed snapshots held");
  AddPruneFlags(cmd, &f->prune_flags);
  cmd->callback([f, exit_code] { *exit_code = RunForget(*f); });
}

}  // namespace cairn::cli
