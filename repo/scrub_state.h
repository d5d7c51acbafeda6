// Scrub state: when each pack's data was last verified, kept in the repository so that a
// rotating scrub (`cairn scrub --budget`) continues where the previous run stopped and
// `cairn scrub --status` can say how recently every byte was checked.
//
// Layout and rules: docs/FORMAT.md "Scrub state". Each run that read data writes one new
// `scrub/<name>` object (name = SHA-256 of its envelope) holding the merged state, and only
// after it is durable deletes the objects it merged. Readers merge every object they find,
// taking the newest verification per pack, so concurrent scrubs never lose each other's
// records: at worst two objects remain until the next run merges them.
//
// Thread safety: the functions are safe to call concurrently (the backend is).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace cairn {

// First plaintext byte of a scrub state object. docs/FORMAT.md "Scrub state".
inline constexpr uint8_t kScrubStateVersion = 1;
// Smallest pack entry: pack id (32) + one-byte svarint time + result byte.
inline constexpr uint64_t kMinScrubEntryBytes = 34;

struct PackCheck {
  int64_t time_ns = 0;   // when the pack was last read whole and verified
  bool damaged = false;  // that check found damage
};

struct ScrubState {
  std::map<Id, PackCheck> packs;  // by pack name
  // The run that wrote this state: when it finished, and the bytes it read in how long
  // (for throughput estimates). Zero when unknown.
  int64_t written_ns = 0;
  uint64_t run_bytes = 0;
  int64_t run_ns = 0;

  // Takes the newer check per pack, and the newer run figures.
  void Merge(const ScrubState& other);
};

Bytes EncodeScrubState(const ScrubState& state);
Result<ScrubState> DecodeScrubState(ByteView plaintext);

struct LoadedScrubState {
  ScrubState state;                   // every readable object, merged
  std::vector<std::string> merged;    // names of the objects merged into `state`
  std::vector<std::string> problems;  // "scrub state 3fa2…: authentication failed", skipped
};

// Reads and merges every scrub state object. An unreadable one is reported and skipped (its
// packs count as less recently verified, which is the safe direction).
Result<LoadedScrubState> LoadScrubState(Backend* backend, const Sealer& sealer);

// Writes `state` as a new object, durably, then deletes the objects named in `replaced` (those
// merged into it). Returns the new object's name. A failed delete is not an error: the leftover
// object is merged (and deleted) by the next run.
Result<std::string> SaveScrubState(Backend* backend, const Sealer& sealer, const ScrubState& state,
                                   const std::vector<std::string>& replaced);

// --- status ---

struct PackStatus {
  Id pack;
  uint64_t size_bytes = 0;
  PackCheck check;  // time_ns 0: never verified
};

struct ScrubAgeCount {
  uint64_t packs = 0, bytes = 0;
  void Add(uint64_t size) { ++packs, bytes += size; }
};

struct ScrubStatus {
  int64_t now_ns = 0;
  ScrubAgeCount total, within_1d, within_7d, within_30d, never, damaged;
  int64_t oldest_ns = 0;  // the least recent verification of a verified pack; 0 if none
  // With every_ns: packs not verified within it (never verified included), whether that is
  // none, and a budget for a daily run that verifies every byte within every_ns (once the
  // overdue bytes are caught up): total / whole days + the largest pack, at most the total.
  int64_t every_ns = 0;
  ScrubAgeCount overdue;
  bool meets_every = false;
  uint64_t daily_budget_bytes = 0;
  // The most recent run that read data: bytes and time spent reading (0 if none recorded).
  int64_t last_run_at_ns = 0;
  uint64_t last_run_bytes = 0;
  int64_t last_run_ns = 0;
  std::vector<PackStatus> packs;  // every stored pack, least recently verified first
  std::vector<std::string> problems;
};

// Summarizes `state` over the packs stored now (`stored`: pack name -> size). Entries for packs
// that are gone (pruned) are ignored.
ScrubStatus SummarizeScrubState(const ScrubState& state, const std::map<Id, uint64_t>& stored,
                                int64_t now_ns, int64_t every_ns);

// The order a rotating scrub reads packs in: those damaged at their last check first (so damage
// is reported by every run until it is repaired), then never verified, then least recently
// verified; ties by pack name, so the order is stable across runs.
bool ReadsBefore(const PackStatus& a, const PackStatus& b);

}  // namespace cairn
