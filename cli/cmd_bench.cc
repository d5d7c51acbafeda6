// cairn bench restore: how fast can this snapshot be restored, here, now?
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "repo/restore_bench.h"
#include "store/page_cache.h"

namespace cairn::cli {

namespace {
struct BenchFlags {
  std::string snapshot, target, threads = "1,2";
  int repeat = 3;
  bool warm_only = false, cold_only = false;
};

Result<std::vector<int>> ParseThreads(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    long v = strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 256)
      return Status::InvalidArgument("--threads takes a list like 1,2,4: '" + s + "'");
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) return Status::InvalidArgument("--threads is empty");
  return out;
}

int RunBenchRestore(const BenchFlags& f) {
  RestoreBenchOptions o;
  Result<std::vector<int>> threads = ParseThreads(f.threads);
  if (!threads.ok()) return Fail(threads.status());
  o.threads = *threads;
  o.repeat = f.repeat;
  o.target = f.target;
  o.cold = !f.warm_only;
  o.warm = !f.cold_only;
  Result<std::string> where = RepoLocation();
  if (!where.ok()) return Fail(where.status());
  o.drop_caches = [path = *where] { return DropPackPagesFromCache(path, nullptr); };
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<SnapshotRef> snap = FindSnapshot(repo->get(), f.snapshot);
  if (!snap.ok()) return Fail(snap.status());
  Result<std::vector<RestoreBenchRow>> rows = BenchRestore(repo->get(), snap->snapshot, o);
  if (!rows.ok()) return Fail(rows.status());
  std::string mode = f.target.empty() ? "decode only (read, decrypt, decompress, verify)"
                                      : "restore to " + f.target;
  if (Globals().json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : *rows)
      arr.push_back({{"threads", r.threads}, {"cache", r.cold ? "cold" : "warm"},
                     {"bytes", r.bytes}, {"seconds", r.seconds}, {"median_seconds", r.median_seconds},
                     {"median_mb_per_s", r.median_mb_per_s}, {"read_s", r.read_s},
                     {"decrypt_s", r.decrypt_s}, {"decompress_s", r.decompress_s},
                     {"verify_s", r.verify_s}, {"write_s", r.write_s}});
    PrintJson({{"snapshot", snap->id.Hex()}, {"mode", mode}, {"repeat", f.repeat}, {"runs", arr}});
    return kExitOk;
  }
  std::cout << "snapshot " << snap->id.ShortHex() << ", " << mode << ", median of " << f.repeat
            << " runs; cold = pack files evicted from the page cache before each run\n";
  printf("%7s  %5s  %10s  %9s  %9s   %s\n", "threads", "cache", "MB/s", "median s", "size",
         "worker time: read / decrypt / decompress / verify / write (s)");
  for (const auto& r : *rows)
    printf("%7d  %5s  %10.1f  %9.3f  %9s   %.2f / %.2f / %.2f / %.2f / %.2f\n", r.threads,
           r.cold ? "cold" : "warm", r.median_mb_per_s, r.median_seconds, HumanBytes(r.bytes).c_str(),
           r.read_s, r.decrypt_s, r.decompress_s, r.verify_s, r.write_s);
  return kExitOk;
}
}  // namespace

void RegisterBench(CLI::App& app, int* exit_code) {
  CLI::App* bench = app.add_subcommand("bench", "Measure this machine and repository");
  bench->require_subcommand(1);
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = bench->add_subcommand("restore", "Measure restore throughput of a snapshot");
  cmd->add_option("snapshot", f->snapshot, "Snapshot id, unique prefix, or 'latest'")->required();
  cmd->add_option("--threads", f->threads, "Thread counts to measure, e.g. 1,2,4");
  cmd->add_option("--repeat", f->repeat, "Runs per setting (the median is reported)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--target", f->target,
                  "Scratch folder to restore into (each run's copy is deleted); default: decode only");
  cmd->add_flag("--warm-only", f->warm_only, "Skip cold-cache runs");
  cmd->add_flag("--cold-only", f->cold_only, "Skip warm-cache runs");
  cmd->callback([f, exit_code] { *exit_code = RunBenchRestore(*f); });
}

}  // namespace cairn::cli
