// `cairn bench restore`: measured restore throughput of a real snapshot, per
// thread count, cold and warm, with medians over repeated runs and a
// per-stage breakdown, so recovery time is a measurement and not a hope.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct RestoreBenchOptions {
  std::vector<int> threads{1, 2};
  int repeat = 3;
  bool cold = true, warm = true;
  std::string target;  // empty: decode only (read, decrypt, decompress, verify; write nothing)
  // Evicts the repository's data from the page cache before a cold run; returns false if it
  // could not (then cold runs are reported as such).
  std::function<Status()> drop_caches;
};

struct RestoreBenchRow {
  int threads = 0;
  bool cold = false;
  uint64_t bytes = 0;                // plaintext bytes restored per run
  std::vector<double> seconds;       // each run's wall time
  double median_seconds = 0;
  double median_mb_per_s = 0;        // 10^6 bytes per second
  // Share of summed worker time per stage, in the median run.
  double read_s = 0, decrypt_s = 0, decompress_s = 0, verify_s = 0, write_s = 0;
};

Result<std::vector<RestoreBenchRow>> BenchRestore(Repository* repo, const Snapshot& snapshot,
                                                  const RestoreBenchOptions& options);

}  // namespace cairn
