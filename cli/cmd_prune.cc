// cairn prune: reclaim the space of data no snapshot references (repo/prune.h).
#include <iostream>

#include "cli/context.h"
#include "repo/prune.h"
#include "repo/retention.h"

namespace cairn::cli {

namespace {
Result<PruneOptions> ToOptions(const PruneFlags& f) {
  PruneOptions o;
  o.dry_run = f.dry_run;
  o.no_other_writers = f.no_other_writers;
  ASSIGN_OR_RETURN(o.grace_ns, ParseDurationNs(f.grace));
  if (f.max_unused < 0 || f.max_unused > 100)
    return Status::InvalidArgument("--max-unused must be a percentage from 0 to 100");
  o.max_unused_percent = f.max_unused;
  return o;
}

void PrintReport(const PruneReport& r, const PruneOptions& o, nlohmann::json* json_out) {
  if (Globals().json) {
    nlohmann::json j = {
        {"dry_run", o.dry_run}, {"snapshots", r.snapshots}, {"blobs_reachable", r.blobs_reachable},
        {"packs", r.packs}, {"pack_bytes", r.pack_bytes}, {"used_bytes", r.used_bytes},
        {"unused_packs", r.unused_packs}, {"unused_pack_bytes", r.unused_pack_bytes},
        {"repacked_packs", r.repacked_packs}, {"repacked_pack_bytes", r.repacked_pack_bytes},
        {"repacked_live_bytes", r.repacked_live_bytes}, {"orphan_packs", r.orphan_packs},
        {"orphan_bytes", r.orphan_bytes}, {"reclaimable_bytes", r.reclaimable_bytes()},
        {"marked_packs", r.marked_packs}, {"marked_bytes", r.marked_bytes},
        {"deleted_packs", r.deleted_packs}, {"freed_bytes", r.freed_bytes},
        {"unfinished_put_bytes", r.unfinished_put_bytes},
        {"reindexed_packs", r.reindexed_packs}, {"waiting_packs", r.waiting_packs},
        {"waiting_bytes", r.waiting_bytes}, {"index_files_written", r.index_files_written},
        {"index_files_removed", r.index_files_removed}, {"problems", r.problems}};
    if (r.next_sweep_ns) j["next_sweep"] = FormatTime(r.next_sweep_ns);
    if (json_out) {
      *json_out = std::move(j);
    } else {
      PrintJson(j);
    }
    return;
  }
  if (Globals().quiet) return;
  std::cout << r.snapshots << " snapshots reach " << r.blobs_reachable << " blobs; "
            << r.packs << " packs hold " << HumanBytes(r.pack_bytes) << ", of which "
            << HumanBytes(r.used_bytes) << " in use\n";
  std::cout << (o.dry_run ? "would drop " : "dropped ") << r.unused_packs << " unused packs ("
            << HumanBytes(r.unused_pack_bytes) << "), " << (o.dry_run ? "would repack " : "repacked ")
            << r.repacked_packs << " packs (" << HumanBytes(r.repacked_pack_bytes) << ", copying "
            << HumanBytes(r.repacked_live_bytes) << " still in use), " << r.orphan_packs
            << " packs no index names (" << HumanBytes(r.orphan_bytes) << ")\n";
  if (o.dry_run) {
    std::cout << "would free " << HumanBytes(r.reclaimable_bytes() - r.repacked_live_bytes)
              << (o.no_other_writers ? " now" : " after the grace period")
              << " (dry run: nothing changed)\n";
    return;
  }
  std::cout << "freed " << HumanBytes(r.freed_bytes) << " (" << r.deleted_packs << " packs deleted";
  if (r.unfinished_put_bytes)
    std::cout << ", " << HumanBytes(r.unfinished_put_bytes) << " of unfinished uploads";
  std::cout << ")";
  if (r.reindexed_packs) std::cout << ", " << r.reindexed_packs << " pending packs kept (needed again)";
  std::cout << "\n";
  if (r.waiting_packs)
    std::cout << HumanBytes(r.waiting_bytes) << " in " << r.waiting_packs
              << " packs wait for the grace period; a prune after " << FormatTime(r.next_sweep_ns)
              << " frees them (or use --no-other-writers when nothing else writes)\n";
  for (const std::string& p : r.problems) std::cerr << "cairn: " << p << "\n";
}

}  // namespace

int PruneAndReport(Repository* repo, const PruneFlags& f, nlohmann::json* json_out) {
  Result<PruneOptions> options = ToOptions(f);
  if (!options.ok()) return Fail(options.status());
  CliReporter reporter("repack");
  Result<PruneReport> r = Prune(repo, *options, &reporter);
  reporter.Done();
  PrintNewWarnings(repo);
  if (!r.ok()) return Fail(r.status().WithContext("prune"));
  PrintReport(*r, *options, json_out);
  return r->problems.empty() ? kExitOk : kExitDamage;
}

void AddPruneFlags(CLI::App* cmd, PruneFlags* f) {
  cmd->add_flag("--no-other-writers", f->no_other_writers,
                "Nothing else writes to the repository now: free the space at once, including "
                "packs left by killed writers");
  cmd->add_option("--grace", f->grace, "Delete marked packs only this long after marking (default 48h)");
  cmd->add_option("--max-unused", f->max_unused,
                  "Repack partly used packs until unused bytes are at most this percentage of the "
                  "used ones (default 5; 100 never repacks)");
}

void RegisterPrune(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<PruneFlags>();
  CLI::App* cmd = app.add_subcommand("prune", "Free the space of data no snapshot references");
  cmd->add_flag("--dry-run,-n", f->dry_run, "Show what would be freed; change nothing");
  AddPruneFlags(cmd, f.get());
  cmd->callback([f, exit_code] {
    Result<std::unique_ptr<Repository>> repo = OpenRepository();
    *exit_code = repo.ok() ? PruneAndReport(repo->get(), *f) : Fail(repo.status());
  });
}

}  // namespace cairn::cli
