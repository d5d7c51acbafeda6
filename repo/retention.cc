#include "repo/retention.h"

#include <time.h>

#include <algorithm>
#include <map>
#include <sstream>

namespace cairn {

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::string GroupKeyOf(const Snapshot& s, const GroupBy& g) {
  std::vector<std::string> parts;
  if (g.host) parts.push_back("host " + s.host);
  if (g.paths) parts.push_back(s.is_stream() ? "stream " + s.stdin_name : "paths " + Join(s.paths));
  if (g.kind) parts.push_back("kind " + s.kind);
  if (g.tags) {
    std::vector<std::string> tags = s.tags;
    std::sort(tags.begin(), tags.end());
    parts.push_back("tags " + Join(tags));
  }
  std::string key;
  for (const auto& p : parts) key += (key.empty() ? "" : ", ") + p;
  return key.empty() ? "all snapshots" : key;
}

// The bucket a time falls in, as a label: "2026-11-23 14h", "2026-11-23", "2026-W47", ...
std::string Bucket(int64_t time_ns, const char* kind) {
  time_t t = static_cast<time_t>(time_ns / 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  if (std::string(kind) == "hourly") strftime(buf, sizeof(buf), "%Y-%m-%d %Hh", &tm);
  else if (std::string(kind) == "daily") strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  else if (std::string(kind) == "weekly") strftime(buf, sizeof(buf), "%G-W%V", &tm);  // ISO week
  else if (std::string(kind) == "monthly") strftime(buf, sizeof(buf), "%Y-%m", &tm);
  else strftime(buf, sizeof(buf), "%Y", &tm);
  return buf;
}

std::string FormatDuration(int64_t ns) {
  int64_t h = ns / 3600000000000;
  if (h % 24 == 0) return std::to_string(h / 24) + "d";
  return std::to_string(h) + "h";
}

}  // namespace

Result<GroupBy> GroupBy::Parse(const std::string& spec) {
  GroupBy g{false, false, false, false};
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item == "host") g.host = true;
    else if (item == "paths") g.paths = true;
    else if (item == "kind") g.kind = true;
    else if (item == "tags") g.tags = true;
    else if (!item.empty())
      return Status::InvalidArgument("--group-by takes host, paths, kind, tags: '" + item + "'");
  }
  return g;
}

Result<int64_t> ParseDurationNs(const std::string& spec) {
  if (spec.empty()) return Status::InvalidArgument("empty duration");
  int64_t total_hours = 0;
  size_t i = 0;
  while (i < spec.size()) {
    size_t j = i;
    while (j < spec.size() && isdigit(static_cast<unsigned char>(spec[j]))) ++j;
    if (j == i || j == spec.size())
      return Status::InvalidArgument("durations look like 7d, 36h, 2w, 1y6m: '" + spec + "'");
    int64_t n = std::stoll(spec.substr(i, j - i));
    int64_t unit = 0;
    switch (spec[j]) {
      case 'h': unit = 1; break;
      case 'd': unit = 24; break;
      case 'w': unit = 24 * 7; break;
      case 'm': unit = 24 * 30; break;
      case 'y': unit = 24 * 365; break;
      default: return Status::InvalidArgument("unknown duration unit in '" + spec + "'");
    }
    if (n > 1000000) return Status::InvalidArgument("duration too long: '" + spec + "'");
    total_hours += n * unit;
    i = j + 1;
  }
  return total_hours * 3600 * 1000000000;
}

std::vector<RetentionGroup> ApplyRetention(const std::vector<SnapshotRef>& snapshots,
                                           const RetentionPolicy& policy, const GroupBy& group_by) {
  std::map<std::string, std::vector<SnapshotRef>> groups;
  for (const SnapshotRef& s : snapshots) groups[GroupKeyOf(s.snapshot, group_by)].push_back(s);
  std::vector<RetentionGroup> out;
  for (auto& [key, members] : groups) {
    std::sort(members.begin(), members.end(), [](const SnapshotRef& a, const SnapshotRef& b) {
      return a.snapshot.time_ns != b.snapshot.time_ns ? a.snapshot.time_ns > b.snapshot.time_ns
                                                      : a.id > b.id;
    });
    RetentionGroup group;
    group.key = key;
    for (const SnapshotRef& s : members) group.decisions.push_back(RetentionDecision{s, false, {}});
    int64_t newest = members.front().snapshot.time_ns;
    struct Rule {
      const char* name;
      int count;
      std::string last_bucket;
    } rules[] = {{"hourly", policy.hourly, ""}, {"daily", policy.daily, ""},
                 {"weekly", policy.weekly, ""}, {"monthly", policy.monthly, ""},
                 {"yearly", policy.yearly, ""}};
    int last = policy.last;
    for (RetentionDecision& d : group.decisions) {
      const Snapshot& s = d.snapshot.snapshot;
      if (last > 0) {
        d.reasons.push_back("last");
        --last;
      }
      for (Rule& r : rules) {
        if (r.count <= 0) continue;
        std::string b = Bucket(s.time_ns, r.name);
        if (b == r.last_bucket) continue;  // an newer snapshot already holds this bucket
        r.last_bucket = b;
        d.reasons.push_back(std::string(r.name) + " " + b);
        --r.count;
      }
      if (policy.within_ns && newest - s.time_ns <= policy.within_ns)
        d.reasons.push_back("within " + FormatDuration(policy.within_ns) + " of the newest");
      for (const std::string& t : policy.tags)
        if (std::find(s.tags.begin(), s.tags.end(), t) != s.tags.end()) d.reasons.push_back("tag " + t);
      d.keep = !d.reasons.empty();
    }
    out.push_back(std::move(group));
  }
  return out;
}

}  // namespace cairn
