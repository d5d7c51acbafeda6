#include "repo/prune_record.h"

#include <cstdio>

namespace cairn {

namespace {
// A pack entry is an id (32) and a size varint (>= 1): bounds a hostile count before allocating.
constexpr uint64_t kMinPrunePackBytes = 33;
}  // namespace

Bytes EncodePruneRecord(const PruneRecord& record) {
  Encoder e;
  e.U8(kPruneRecordVersion);
  e.SignedVarint(record.mark_time_ns);
  e.SignedVarint(record.grace_ns);
  e.Varint(record.packs.size());
  for (const PrunePack& p : record.packs) {
    e.PutId(p.id);
    e.Varint(p.size);
  }
  return std::move(e.buffer());
}

Result<PruneRecord> DecodePruneRecord(ByteView plaintext) {
  Decoder d(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, d.U8());
  if (version != kPruneRecordVersion)
    return Status::Corruption("prune record version " + std::to_string(version) + " is unknown");
  PruneRecord r;
  ASSIGN_OR_RETURN(r.mark_time_ns, d.SignedVarint());
  ASSIGN_OR_RETURN(r.grace_ns, d.SignedVarint());
  if (r.grace_ns < 0) return Status::Corruption("prune record: negative grace period");
  ASSIGN_OR_RETURN(uint64_t count, d.Varint());
  if (count > d.remaining() / kMinPrunePackBytes)
    return Status::Corruption("prune record: pack count exceeds its size");
  r.packs.resize(count);
  for (PrunePack& p : r.packs) {
    ASSIGN_OR_RETURN(p.id, d.GetId());
    ASSIGN_OR_RETURN(p.size, d.Varint());
  }
  if (!d.done()) return Status::Corruption("prune record: trailing bytes");
  return r;
}

Result<PruneRecord> ReadPruneRecord(Backend* backend, const Sealer& sealer, const std::string& name) {
  ASSIGN_OR_RETURN(Bytes sealed, backend->Get({ObjectType::kPrune, name}));
  ASSIGN_OR_RETURN(Id id, Id::FromHex(name));
  if (Sha256(sealed) != id) return Status::Corruption("content does not match its name");
  ASSIGN_OR_RETURN(Bytes plain, sealer.Open(sealed, SealDomain::kPruneRecord));
  return DecodePruneRecord(plain);
}

std::string SweepMarkerName(const SweepMarker& marker) {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                static_cast<unsigned long long>(marker.mark_time_ns),
                static_cast<unsigned long long>(marker.sweep_time_ns));
  return buf;
}

Result<SweepMarker> ParseSweepMarkerName(const std::string& name) {
  if (name.size() != 32) return Status::Corruption("sweep marker name '" + name + "' is not 32 hex digits");
  auto field = [&](size_t pos) -> Result<int64_t> {
    uint64_t v = 0;
    for (size_t i = pos; i < pos + 16; ++i) {
      char c = name[i];
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return Status::Corruption("sweep marker name '" + name + "' is not hex");
      v = v << 4 | static_cast<uint64_t>(digit);
    }
    return static_cast<int64_t>(v);
  };
  SweepMarker m;
  ASSIGN_OR_RETURN(m.mark_time_ns, field(0));
  ASSIGN_OR_RETURN(m.sweep_time_ns, field(16));
  return m;
}

}  // namespace cairn
