// cairn stats [SNAPSHOT]: sizes before and after dedup and compression, and per snapshot the
// bytes only it references (what forgetting it and pruning would free).
#include <cstdio>
#include <iostream>

#include "cli/context.h"
#include "repo/stats.h"

namespace cairn::cli {

namespace {
nlohmann::json UsageJson(const SnapshotUsage& u) {
  return {{"id", u.ref.id.Hex()},         {"time", FormatTime(u.ref.snapshot.time_ns)},
          {"files", u.files},             {"raw_bytes", u.raw_bytes},
          {"blobs", u.blobs},             {"unique_blobs", u.unique_blobs},
          {"unique_raw_bytes", u.unique_raw_bytes}, {"unique_stored_bytes", u.unique_stored_bytes},
          {"added_stored_bytes", u.ref.snapshot.stats.bytes_added_stored}};
}

int RunStats(const std::string& ref) {
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  std::optional<Id> only;
  if (!ref.empty()) {
    Result<SnapshotRef> snap = FindSnapshot(repo->get(), ref);
    if (!snap.ok()) return Fail(snap.status());
    only = snap->id;
  }
  Result<RepoUsage> usage = ComputeUsage(repo->get());
  PrintNewWarnings(repo->get());
  if (!usage.ok()) return Fail(usage.status().WithContext("stats"));
  const RepoUsage& u = *usage;
  if (Globals().json) {
    nlohmann::json snaps = nlohmann::json::array();
    for (const SnapshotUsage& s : u.snapshots)
      if (!only || s.ref.id == *only) snaps.push_back(UsageJson(s));
    if (only) {
      PrintJson(snaps[0]);
      return kExitOk;
    }
    PrintJson({{"snapshots", snaps}, {"raw_bytes", u.raw_bytes}, {"blobs", u.blobs},
               {"unique_raw_bytes", u.unique_raw_bytes}, {"stored_bytes", u.stored_bytes},
               {"dedup_ratio", u.dedup_ratio()}, {"compression_ratio", u.compression_ratio()},
               {"missing_blobs", u.missing_blobs}, {"packs", u.packs}, {"pack_bytes", u.pack_bytes}});
    return u.missing_blobs ? kExitDamage : kExitOk;
  }
  if (!only) {
    printf("%zu snapshots, %s of content (what restoring them all writes)\n", u.snapshots.size(),
           HumanBytes(u.raw_bytes).c_str());
    printf("after dedup:       %s in %llu blobs (%.2fx)\n", HumanBytes(u.unique_raw_bytes).c_str(),
           static_cast<unsigned long long>(u.blobs), u.dedup_ratio());
    printf("after compression: %s stored (%.2fx)\n", HumanBytes(u.stored_bytes).c_str(),
           u.compression_ratio());
    printf("packs:             %s in %llu packs (%s not referenced: `cairn prune` reclaims it)\n",
           HumanBytes(u.pack_bytes).c_str(), static_cast<unsigned long long>(u.packs),
           HumanBytes(u.pack_bytes > u.stored_bytes ? u.pack_bytes - u.stored_bytes : 0).c_str());
    printf("\n");
  }
  printf("%-8s  %-19s  %8s  %10s  %12s  %12s\n", "ID", "Time", "Files", "Size", "Added", "Only here");
  for (const SnapshotUsage& s : u.snapshots) {
    if (only && s.ref.id != *only) continue;
    printf("%-8s  %-19s  %8llu  %10s  %12s  %12s\n", s.ref.id.ShortHex().c_str(),
           FormatTime(s.ref.snapshot.time_ns).c_str(), static_cast<unsigned long long>(s.files),
           HumanBytes(s.raw_bytes).c_str(), HumanBytes(s.ref.snapshot.stats.bytes_added_stored).c_str(),
           HumanBytes(s.unique_stored_bytes).c_str());
  }
  if (u.missing_blobs) {
    std::cerr << "cairn: " << u.missing_blobs
              << " referenced blobs are in no index file: run `cairn scrub`\n";
    return kExitDamage;
  }
  return kExitOk;
}
}  // namespace

void RegisterStats(CLI::App& app, int* exit_code) {
  auto ref = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "stats", "Sizes before and after dedup and compression; per snapshot, the bytes only it holds");
  cmd->add_option("snapshot", *ref, "Only this snapshot's line (id, prefix or 'latest')");
  cmd->callback([ref, exit_code] { *exit_code = RunStats(*ref); });
}

}  // namespace cairn::cli
