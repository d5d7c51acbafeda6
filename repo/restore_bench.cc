#include "repo/restore_bench.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "repo/restore.h"

namespace cairn {

namespace {
struct Run {
  double seconds;
  double read, decrypt, decompress, verify, write;
};
}  // namespace

Result<std::vector<RestoreBenchRow>> BenchRestore(Repository* repo, const Snapshot& snapshot,
                                                  const RestoreBenchOptions& options) {
  if (options.repeat < 1) return Status::InvalidArgument("repeat must be at least 1");
  std::vector<RestoreBenchRow> rows;
  for (int threads : options.threads) {
    if (threads < 1) return Status::InvalidArgument("thread counts must be positive");
    for (bool cold : {true, false}) {
      if ((cold && !options.cold) || (!cold && !options.warm)) continue;
      RestoreBenchRow row;
      row.threads = threads;
      row.cold = cold;
      std::vector<Run> runs;
      if (!cold) {  // one unmeasured run so the warm runs really are warm
        RestoreOptions ro;
        ro.decode_only = true;
        ro.threads = threads;
        RETURN_IF_ERROR(RestoreToDir(repo, snapshot, ro, nullptr).status());
      }
      for (int i = 0; i < options.repeat; ++i) {
        if (cold && options.drop_caches) RETURN_IF_ERROR(options.drop_caches());
        FetchTimings t;
        RestoreOptions ro;
        ro.threads = threads;
        ro.timings = &t;
        ro.decode_only = options.target.empty();
        if (!ro.decode_only) ro.target = options.target + "/run-" + std::to_string(i);
        auto start = std::chrono::steady_clock::now();
        ASSIGN_OR_RETURN(RestoreResult r, RestoreToDir(repo, snapshot, ro, nullptr));
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (r.damaged || r.failed) return Status::Corruption("restore found damage; run cairn scrub");
        if (!ro.decode_only) {
          std::error_code ec;
          std::filesystem::remove_all(ro.target, ec);
        }
        row.bytes = r.bytes;
        runs.push_back(Run{secs, t.read_ns / 1e9, t.decrypt_ns / 1e9, t.decompress_ns / 1e9,
                           t.verify_ns / 1e9, t.write_ns / 1e9});
        row.seconds.push_back(secs);
      }
      std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
      const Run& m = runs[runs.size() / 2];
      row.median_seconds = m.seconds;
      row.median_mb_per_s = m.seconds > 0 ? static_cast<double>(row.bytes) / m.seconds / 1e6 : 0;
      row.read_s = m.read;
      row.decrypt_s = m.decrypt;
      row.decompress_s = m.decompress;
      row.verify_s = m.verify;
      row.write_s = m.write;
      rows.push_back(row);
    }
  }
  return rows;
}

}  // namespace cairn
