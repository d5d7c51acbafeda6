// Repair records (docs/FORMAT.md "Repair records"): what the last `cairn repair` found and did,
// kept in the repository so every client sees it.
//
// A record names the packs repair took out of the index because they hold damaged blobs
// (quarantined: their intact blobs were copied into new packs first, so nothing needs them; prune
// deletes them like any unreferenced pack, and an index rebuild from packs leaves them out), and
// the snapshots that still reference data the repository no longer has. The newest record is the
// current one; each repair carries the older records' quarantined packs into its own and removes
// them.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/prune_record.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace cairn {

inline constexpr uint8_t kRepairRecordVersion = 1;
// Files named per damaged snapshot; the count says how many there are in all.
inline constexpr size_t kMaxDamagedFilesListed = 100;

struct DamagedSnapshot {
  Id id;
  uint64_t missing_blobs = 0;  // distinct blobs it references that no pack provides
  uint64_t damaged_files = 0;  // files (and folders) it cannot restore whole
  std::vector<std::string> files;  // the first kMaxDamagedFilesListed of them, "/"-joined paths
};

struct RepairRecord {
  int64_t time_ns = 0;
  std::vector<PrunePack> quarantined;
  std::vector<DamagedSnapshot> damaged;
};

Bytes EncodeRepairRecord(const RepairRecord& record);
Result<RepairRecord> DecodeRepairRecord(ByteView plaintext);

struct LoadedRepairRecords {
  RepairRecord current;             // the newest readable record (empty if none)
  std::unordered_set<Id> quarantined;  // packs quarantined by any readable record
  std::vector<std::string> names;   // every record object, readable or not
  std::vector<std::string> problems;  // "repair record 3fa2…: authentication failed"
};

Result<LoadedRepairRecords> LoadRepairRecords(Backend* backend, const Sealer& sealer);
// Seals and writes a record; returns its name (the SHA-256 of the sealed bytes).
Result<std::string> SaveRepairRecord(Backend* backend, const Sealer& sealer, const RepairRecord& record);

}  // namespace cairn
