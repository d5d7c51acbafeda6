// The objects of two-phase prune (docs/FORMAT.md "Prune records and sweep markers").
//
// A prune run that finds packs nothing needs first *marks* them: it rewrites the index files
// without them and records them, with the time, in a prune record (prune/<name>). A later run
// *sweeps*: once the grace period has passed it deletes each recorded pack that is still
// unreferenced. Before deleting anything a sweep leaves a sweep marker (sweeps/<name>) whose
// name carries the mark time, so a writer that started before the mark can tell that packs it
// may have deduplicated against are gone, and refuse to commit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace cairn {

inline constexpr uint8_t kPruneRecordVersion = 1;

struct PrunePack {
  Id id;
  uint64_t size = 0;
};

struct PruneRecord {
  int64_t mark_time_ns = 0;
  int64_t grace_ns = 0;  // the sweep waits until mark_time_ns + grace_ns
  std::vector<PrunePack> packs;
};

Bytes EncodePruneRecord(const PruneRecord& record);
Result<PruneRecord> DecodePruneRecord(ByteView plaintext);
// Reads prune/<name>, checks its name, opens and decodes it.
Result<PruneRecord> ReadPruneRecord(Backend* backend, const Sealer& sealer, const std::string& name);

struct SweepMarker {
  int64_t mark_time_ns = 0;
  int64_t sweep_time_ns = 0;
};

// 32 hex digits: the mark time then the sweep time, each as 16 hex digits (u64, big-endian).
std::string SweepMarkerName(const SweepMarker& marker);
Result<SweepMarker> ParseSweepMarkerName(const std::string& name);

}  // namespace cairn
