// cairn repair: take damaged and missing packs out of the index (salvaging their intact blobs),
// and name the snapshots that remain damaged (repo/repair.h).
#include <iostream>

#include "cli/context.h"
#include "repo/repair.h"

namespace cairn::cli {

namespace {

struct RepairFlags {
  bool read_data = false;
  bool dry_run = false;
};

nlohmann::json DamagedJson(const DamagedSnapshot& d) {
  return {{"id", d.id.Hex()}, {"missing_blobs", d.missing_blobs}, {"damaged_files", d.damaged_files},
          {"files", d.files}};
}

void PrintReport(const RepairReport& r, const RepairFlags& f) {
  if (Globals().json) {
    nlohmann::json damaged = nlohmann::json::array();
    for (const DamagedSnapshot& d : r.damaged_snapshots) damaged.push_back(DamagedJson(d));
    PrintJson({{"dry_run", f.dry_run}, {"packs_checked", r.packs_checked}, {"bytes_read", r.bytes_read},
               {"packs_missing", r.packs_missing}, {"packs_damaged", r.packs_damaged},
               {"packs_flaky", r.packs_flaky}, {"blobs_salvaged", r.blobs_salvaged},
               {"blobs_lost", r.blobs_lost}, {"index_files_written", r.index_files_written},
               {"index_files_removed", r.index_files_removed}, {"findings", r.findings},
               {"damaged_snapshots", damaged}, {"unreadable_snapshots", r.unreadable_snapshots},
               {"healed_snapshots", r.healed_snapshots}, {"record", r.record}, {"clean", r.clean()}});
    return;
  }
  if (Globals().quiet && r.clean()) return;
  std::cout << "checked " << r.packs_checked << " packs (" << HumanBytes(r.bytes_read) << ")";
  if (r.packs_flaky) std::cout << "; " << r.packs_flaky << " failed a read once and then passed (left as they are)";
  std::cout << "\n";
  for (const std::string& line : r.findings) std::cout << "  " << line << "\n";
  const char* would = f.dry_run ? "would " : "";
  if (r.packs_damaged || r.packs_missing)
    std::cout << (f.dry_run ? "would take " : "took ") << r.packs_damaged + r.packs_missing
              << " packs out of the index (" << r.packs_damaged << " damaged, quarantined; "
              << r.packs_missing << " missing), " << (f.dry_run ? "would salvage " : "salvaged ")
              << r.blobs_salvaged << " intact blobs; " << r.blobs_lost << " blobs " << would
              << (f.dry_run ? "be lost" : "are lost") << "\n";
  if (r.healed_snapshots)
    std::cout << r.healed_snapshots << " snapshots marked damaged before are whole again\n";
  for (const DamagedSnapshot& d : r.damaged_snapshots) {
    std::cout << "snapshot " << d.id.ShortHex() << " is damaged: " << d.damaged_files
              << " files cannot be restored whole (" << d.missing_blobs << " blobs missing)\n";
    for (const std::string& file : d.files) std::cout << "    " << file << "\n";
    if (d.damaged_files > d.files.size())
      std::cout << "    ... and " << d.damaged_files - d.files.size() << " more\n";
  }
  for (const std::string& s : r.unreadable_snapshots)
    std::cout << "snapshot object " << s << " (`cairn forget` its full id to remove it)\n";
  if (r.clean()) {
    std::cout << "every snapshot is whole\n";
  } else if (!r.damaged_snapshots.empty()) {
    std::cout << "restoring a damaged snapshot restores everything intact and names the rest; backing up "
                 "the same data again stores the lost blobs again and heals every snapshot that uses them "
                 "(run `cairn repair` again to clear the mark)\n";
  }
  if (f.dry_run) std::cout << "dry run: nothing changed\n";
}

int RunRepair(const RepairFlags& f) {
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  RepairOptions o;
  o.read_data = f.read_data;
  o.dry_run = f.dry_run;
  CliReporter reporter("check");
  Result<RepairReport> r = Repair(repo->get(), o, &reporter);
  reporter.Done();
  PrintNewWarnings(repo->get());
  if (!r.ok()) return Fail(r.status().WithContext("repair"));
  PrintReport(*r, f);
  return r->clean() ? kExitOk : kExitDamage;
}

}  // namespace

void RegisterRepair(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<RepairFlags>();
  CLI::App* cmd = app.add_subcommand(
      "repair",
      "Take damaged and missing packs out of the index (salvaging intact blobs) and name the "
      "snapshots that remain damaged");
  cmd->add_flag("--read-data", flags->read_data,
                "Check every pack, not only those missing or found damaged by earlier scrubs");
  cmd->add_flag("--dry-run", flags->dry_run, "Check and report; change nothing");
  cmd->callback([flags, exit_code] { *exit_code = RunRepair(*flags); });
}

}  // namespace cairn::cli
