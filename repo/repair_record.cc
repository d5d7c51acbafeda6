#include "repo/repair_record.h"

#include <algorithm>

namespace cairn {

namespace {
// Lower bounds of an encoded entry, to refuse a hostile count before allocating.
constexpr uint64_t kMinPackEntryBytes = 33;      // id + size varint
constexpr uint64_t kMinSnapshotEntryBytes = 35;  // id + three varints
constexpr uint64_t kMinFileEntryBytes = 1;       // an empty path: its length varint
constexpr size_t kMaxPathBytes = 64 * 1024;
}  // namespace

Bytes EncodeRepairRecord(const RepairRecord& record) {
  Encoder e;
  e.U8(kRepairRecordVersion);
  e.SignedVarint(record.time_ns);
  e.Varint(record.quarantined.size());
  for (const PrunePack& p : record.quarantined) {
    e.PutId(p.id);
    e.Varint(p.size);
  }
  e.Varint(record.damaged.size());
  for (const DamagedSnapshot& s : record.damaged) {
    e.PutId(s.id);
    e.Varint(s.missing_blobs);
    e.Varint(s.damaged_files);
    e.Varint(s.files.size());
    for (const std::string& f : s.files) e.Str(f);
  }
  return std::move(e.buffer());
}

Result<RepairRecord> DecodeRepairRecord(ByteView plaintext) {
  Decoder d(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, d.U8());
  if (version != kRepairRecordVersion)
    return Status::Corruption("repair record version " + std::to_string(version) + " is unknown");
  RepairRecord r;
  ASSIGN_OR_RETURN(r.time_ns, d.SignedVarint());
  ASSIGN_OR_RETURN(uint64_t packs, d.Varint());
  if (packs > d.remaining() / kMinPackEntryBytes)
    return Status::Corruption("repair record: pack count exceeds its size");
  r.quarantined.resize(packs);
  for (PrunePack& p : r.quarantined) {
    ASSIGN_OR_RETURN(p.id, d.GetId());
    ASSIGN_OR_RETURN(p.size, d.Varint());
  }
  ASSIGN_OR_RETURN(uint64_t snapshots, d.Varint());
  if (snapshots > d.remaining() / kMinSnapshotEntryBytes)
    return Status::Corruption("repair record: snapshot count exceeds its size");
  r.damaged.resize(snapshots);
  for (DamagedSnapshot& s : r.damaged) {
    ASSIGN_OR_RETURN(s.id, d.GetId());
    ASSIGN_OR_RETURN(s.missing_blobs, d.Varint());
    ASSIGN_OR_RETURN(s.damaged_files, d.Varint());
    ASSIGN_OR_RETURN(uint64_t files, d.Varint());
    if (files > kMaxDamagedFilesListed || files > d.remaining() / kMinFileEntryBytes)
      return Status::Corruption("repair record: file count out of range");
    s.files.resize(files);
    for (std::string& f : s.files) {
      ASSIGN_OR_RETURN(f, d.Str(kMaxPathBytes));
    }
  }
  if (!d.done()) return Status::Corruption("repair record: trailing bytes");
  return r;
}

Result<LoadedRepairRecords> LoadRepairRecords(Backend* backend, const Sealer& sealer) {
  LoadedRepairRecords out;
  RETURN_IF_ERROR(backend->List(ObjectType::kRepair, [&](const std::string& name, uint64_t) {
    out.names.push_back(name);
    return Status::OK();
  }));
  std::sort(out.names.begin(), out.names.end());
  bool have_current = false;
  for (const std::string& name : out.names) {
    Result<RepairRecord> one = [&]() -> Result<RepairRecord> {
      ASSIGN_OR_RETURN(Bytes sealed, backend->Get({ObjectType::kRepair, name}));
      if (Sha256(sealed).Hex() != name) return Status::Corruption("content does not match its name");
      ASSIGN_OR_RETURN(Bytes plain, sealer.Open(sealed, SealDomain::kRepairRecord));
      return DecodeRepairRecord(plain);
    }();
    if (!one.ok()) {
      if (one.status().code() == Code::kNotFound) continue;  // replaced meanwhile
      if (one.status().code() != Code::kCorruption) return one.status().WithContext("repair record " + name);
      out.problems.push_back("repair record " + name.substr(0, 8) + ": " + one.status().message());
      continue;
    }
    for (const PrunePack& p : one->quarantined) out.quarantined.insert(p.id);
    if (!have_current || one->time_ns > out.current.time_ns) {
      out.current = std::move(one).value();
      have_current = true;
    }
  }
  return out;
}

Result<std::string> SaveRepairRecord(Backend* backend, const Sealer& sealer, const RepairRecord& record) {
  Bytes sealed;
  sealer.Seal(EncodeRepairRecord(record), SealDomain::kRepairRecord, &sealed);
  std::string name = Sha256(sealed).Hex();
  RETURN_IF_ERROR(backend->Put({ObjectType::kRepair, name}, sealed).WithContext("write repair record"));
  return name;
}

}  // namespace cairn
