#include "repo/scrub_state.h"

#include <algorithm>

namespace cairn {

namespace {
constexpr int64_t kDayNs = int64_t{86400} * 1000000000;
}  // namespace

void ScrubState::Merge(const ScrubState& other) {
  for (const auto& [pack, check] : other.packs) {
    auto [it, inserted] = packs.emplace(pack, check);
    if (!inserted && check.time_ns > it->second.time_ns) it->second = check;
  }
  if (other.run_bytes > 0 && (run_bytes == 0 || other.written_ns > written_ns)) {
    run_bytes = other.run_bytes;
    run_ns = other.run_ns;
  }
  written_ns = std::max(written_ns, other.written_ns);
}

Bytes EncodeScrubState(const ScrubState& s) {
  Encoder enc;
  enc.U8(kScrubStateVersion);
  enc.SignedVarint(s.written_ns);
  enc.Varint(s.run_bytes);
  enc.SignedVarint(s.run_ns);
  enc.Varint(s.packs.size());
  for (const auto& [pack, check] : s.packs) {  // std::map: ascending pack names, as specified
    enc.PutId(pack);
    enc.SignedVarint(check.time_ns);
    enc.U8(check.damaged ? 1 : 0);
  }
  return enc.Take();
}

Result<ScrubState> DecodeScrubState(ByteView plaintext) {
  Decoder dec(plaintext);
  ASSIGN_OR_RETURN(uint8_t version, dec.U8());
  if (version != kScrubStateVersion)
    return Status::Corruption("unsupported scrub state version " + std::to_string(version));
  ScrubState s;
  ASSIGN_OR_RETURN(s.written_ns, dec.SignedVarint());
  ASSIGN_OR_RETURN(s.run_bytes, dec.Varint());
  ASSIGN_OR_RETURN(s.run_ns, dec.SignedVarint());
  ASSIGN_OR_RETURN(uint64_t count, dec.Varint());
  if (count > dec.remaining() / kMinScrubEntryBytes)
    return Status::Corruption("scrub state: entry count " + std::to_string(count) + " too large");
  for (uint64_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(Id pack, dec.GetId());
    PackCheck check;
    ASSIGN_OR_RETURN(check.time_ns, dec.SignedVarint());
    ASSIGN_OR_RETURN(uint8_t result, dec.U8());
    if (result > 1) return Status::Corruption("scrub state: unknown result " + std::to_string(result));
    check.damaged = result == 1;
    if (!s.packs.empty() && !(s.packs.rbegin()->first < pack))
      return Status::Corruption("scrub state: pack entries not in ascending order");
    s.packs.emplace_hint(s.packs.end(), pack, check);
  }
  if (!dec.done()) return Status::Corruption("scrub state: trailing bytes");
  return s;
}

Result<LoadedScrubState> LoadScrubState(Backend* backend, const Sealer& sealer) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(backend->List(ObjectType::kScrub, [&](const std::string& name, uint64_t) {
    names.push_back(name);
    return Status::OK();
  }));
  std::sort(names.begin(), names.end());
  LoadedScrubState out;
  for (const std::string& name : names) {
    Result<ScrubState> one = [&]() -> Result<ScrubState> {
      ASSIGN_OR_RETURN(Bytes sealed, backend->Get({ObjectType::kScrub, name}));
      if (Sha256(sealed).Hex() != name) return Status::Corruption("content does not match its name");
      ASSIGN_OR_RETURN(Bytes plain, sealer.Open(sealed, SealDomain::kScrubState));
      return DecodeScrubState(plain);
    }();
    if (one.ok()) {
      out.state.Merge(*one);
      out.merged.push_back(name);
    } else if (one.status().code() != Code::kNotFound) {  // NotFound: merged away meanwhile
      out.problems.push_back("scrub state " + name.substr(0, 8) + ": " + one.status().message());
    }
  }
  return out;
}

Result<std::string> SaveScrubState(Backend* backend, const Sealer& sealer, const ScrubState& state,
                                   const std::vector<std::string>& replaced) {
  Bytes sealed;
  sealer.Seal(EncodeScrubState(state), SealDomain::kScrubState, &sealed);
  std::string name = Sha256(sealed).Hex();
  RETURN_IF_ERROR(backend->Put({ObjectType::kScrub, name}, sealed).WithContext("write scrub state"));
  for (const std::string& old : replaced)
    if (old != name) (void)backend->Delete({ObjectType::kScrub, old});  // see header: harmless
  return name;
}

bool ReadsBefore(const PackStatus& a, const PackStatus& b) {
  if (a.check.damaged != b.check.damaged) return a.check.damaged;
  if (a.check.time_ns != b.check.time_ns) return a.check.time_ns < b.check.time_ns;
  return a.pack < b.pack;
}

ScrubStatus SummarizeScrubState(const ScrubState& state, const std::map<Id, uint64_t>& stored,
                                int64_t now_ns, int64_t every_ns) {
  ScrubStatus st;
  st.now_ns = now_ns;
  st.every_ns = every_ns;
  for (const auto& [pack, size] : stored) {
    PackStatus p{pack, size, {}};
    if (auto it = state.packs.find(pack); it != state.packs.end()) p.check = it->second;
    st.total.Add(size);
    if (p.check.damaged) st.damaged.Add(size);
    if (p.check.time_ns == 0) {
      st.never.Add(size);
    } else {
      int64_t age = now_ns - p.check.time_ns;
      if (age <= kDayNs) st.within_1d.Add(size);
      if (age <= 7 * kDayNs) st.within_7d.Add(size);
      if (age <= 30 * kDayNs) st.within_30d.Add(size);
      if (st.oldest_ns == 0 || p.check.time_ns < st.oldest_ns) st.oldest_ns = p.check.time_ns;
    }
    if (every_ns > 0 && (p.check.time_ns == 0 || now_ns - p.check.time_ns > every_ns)) st.overdue.Add(size);
    st.packs.push_back(p);
  }
  std::sort(st.packs.begin(), st.packs.end(), ReadsBefore);
  if (every_ns > 0) {
    st.meets_every = st.overdue.packs == 0;
    // A run with budget B stops before the first pack that does not fit, so it reads more than
    // B - (largest pack). Runs once a day must cover the total within the whole days in
    // every_ns: B >= total / days + largest pack.
    uint64_t days = static_cast<uint64_t>(std::max<int64_t>(1, every_ns / kDayNs));
    uint64_t largest = 0;
    for (const PackStatus& p : st.packs) largest = std::max(largest, p.size_bytes);
    st.daily_budget_bytes = std::min(st.total.bytes, (st.total.bytes + days - 1) / days + largest);
  }
  st.last_run_at_ns = state.run_bytes > 0 ? state.written_ns : 0;
  st.last_run_bytes = state.run_bytes;
  st.last_run_ns = state.run_ns;
  return st;
}

}  // namespace cairn
