// Retention: which snapshots a "keep 7 daily, 4 weekly, 12 monthly" policy keeps.
//
// Pure policy, no I/O: given snapshots and a policy, it decides, with the reasons
// for every kept snapshot, so `cairn forget --dry-run` can show exactly why.
// Snapshots are grouped (by default by host, paths or stream name, and kind) and
// each group is judged on its own, newest first, as restic and borg do: a
// "daily" rule keeps the newest snapshot of each of the last N days that have one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct RetentionPolicy {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  int64_t within_ns = 0;  // keep everything this close to the group's newest snapshot
  std::vector<std::string> tags;  // keep snapshots carrying any of these tags

  bool empty() const {
    return !last && !hourly && !daily && !weekly && !monthly && !yearly && !within_ns && tags.empty();
  }
};

struct GroupBy {
  bool host = true, paths = true, kind = true, tags = false;
  // Parses "host,paths,kind,tags" (any subset; "" groups everything together).
  static Result<GroupBy> Parse(const std::string& spec);
};

struct RetentionDecision {
  SnapshotRef snapshot;
  bool keep = false;
  std::vector<std::string> reasons;  // "daily 2026-11-23", "last", "tag nightly", "within 7d"
};

struct RetentionGroup {
  std::string key;  // human-readable: "host vm, paths /srv/app, kind files"
  std::vector<RetentionDecision> decisions;  // newest first
};

// REQUIRES: !policy.empty(). Times are bucketed in the local time zone (as operators read them).
std::vector<RetentionGroup> ApplyRetention(const std::vector<SnapshotRef>& snapshots,
                                           const RetentionPolicy& policy, const GroupBy& group_by);

// Parses durations like "7d", "36h", "2w", "1y6m" (y=365d, m=30d, w=7d, d, h).
Result<int64_t> ParseDurationNs(const std::string& spec);

}  // namespace cairn
