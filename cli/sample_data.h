// A generated sample that looks like a small production service's backup
// sources: a SQL dump, WAL-like 16 MiB segments, and a source tree. Used by
// `cairn demo` and by tests. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace cairn::cli {

struct SampleSize {
  uint64_t dump_rows = 400000;  // ~30 MiB of SQL
  int wal_segments = 3;         // 16 MiB each
  int source_files = 300;
};

// Creates dir/db/app.sql, dir/wal/<segments>, dir/src/... .
Status GenerateSample(const std::string& dir, const SampleSize& size, uint64_t seed);

// The next day: a few rows updated and appended, one more WAL segment, some files edited.
Status MutateSample(const std::string& dir, const SampleSize& size, uint64_t seed);

// Compares two trees: content, sizes, modes, symlink targets. Returns the first difference.
Status CompareTrees(const std::string& a, const std::string& b);

}  // namespace cairn::cli
