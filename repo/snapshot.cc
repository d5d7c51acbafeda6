#include "repo/snapshot.h"

#include "repo/format.h"

namespace cairn {

namespace {
constexpr uint64_t kMaxListItems = 1 << 16;

void PutList(Encoder* enc, const std::vector<std::string>& v) {
  enc->Varint(v.size());
  for (const auto& s : v) enc->Str(s);
}

Result<std::vector<std::string>> GetList(Decoder* dec) {
  ASSIGN_OR_RETURN(uint64_t n, dec->Varint());
  if (n > kMaxListItems || n > dec->remaining()) return Status::Corruption("snapshot: list too long");
  std::vector<std::string> v(n);
  for (auto& s : v) {
    ASSIGN_OR_RETURN(s, dec->Str(kMaxStringBytes));
  }
  return v;
}
}  // namespace

Bytes EncodeSnapshot(const Snapshot& s) {
  Encoder enc;
  enc.U8(kSnapshotVersion);
  enc.SignedVarint(s.time_ns);
  enc.Str(s.host);
  enc.Str(s.user);
  PutList(&enc, s.paths);
  PutList(&enc, s.tags);
  enc.Str(s.kind);
  enc.Str(s.stdin_name);
  enc.PutId(s.tree);
  enc.PutId(s.parent);
  enc.Varint(s.flags);
  const SnapshotStats& st = s.stats;
  for (uint64_t v : {st.files, st.dirs, st.symlinks, st.bytes_raw, st.blobs_added,
                     st.bytes_added_raw, st.bytes_added_stored, st.errors})
    enc.Varint(v);
  return enc.Take();
}

Result<Snapshot> DecodeSnapshot(ByteView plaintext) {
  Decoder dec(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, dec.U8());
  if (version != kSnapshotVersion)
    return Status::Corruption("unsupported snapshot version " + std::to_string(version));
  Snapshot s;
  ASSIGN_OR_RETURN(s.time_ns, dec.SignedVarint());
  ASSIGN_OR_RETURN(s.host, dec.Str(kMaxStringBytes));
  ASSIGN_OR_RETURN(s.user, dec.Str(kMaxStringBytes));
  ASSIGN_OR_RETURN(s.paths, GetList(&dec));
  ASSIGN_OR_RETURN(s.tags, GetList(&dec));
  ASSIGN_OR_RETURN(s.kind, dec.Str(kMaxStringBytes));
  ASSIGN_OR_RETURN(s.stdin_name, dec.Str(kMaxNameBytes));
  ASSIGN_OR_RETURN(s.tree, dec.GetId());
  ASSIGN_OR_RETURN(s.parent, dec.GetId());
  ASSIGN_OR_RETURN(s.flags, dec.Varint());
  SnapshotStats& st = s.stats;
  for (uint64_t* v : {&st.files, &st.dirs, &st.symlinks, &st.bytes_raw, &st.blobs_added,
                      &st.bytes_added_raw, &st.bytes_added_stored, &st.errors}) {
    ASSIGN_OR_RETURN(*v, dec.Varint());
  }
  if (!dec.done()) return Status::Corruption("snapshot: trailing bytes");
  return s;
}

}  // namespace cairn
