// cairn snapshots: list snapshots.   cairn ls: list a snapshot's contents.
#include <iostream>
#include <unordered_set>

#include "cli/context.h"
#include "repo/repair.h"
#include "repo/walker.h"

namespace cairn::cli {

namespace {
std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

nlohmann::json SnapshotJson(const SnapshotRef& r) {
  const Snapshot& s = r.snapshot;
  return {{"id", r.id.Hex()},         {"time", FormatTime(s.time_ns)}, {"time_ns", s.time_ns},
          {"host", s.host},           {"user", s.user},                {"tags", s.tags},
          {"paths", s.paths},         {"kind", s.kind},                {"stdin_name", s.stdin_name},
          {"tree", s.tree.Hex()},     {"partial", s.partial()},        {"files", s.stats.files},
          {"bytes", s.stats.bytes_raw}, {"bytes_added", s.stats.bytes_added_raw},
          {"bytes_stored", s.stats.bytes_added_stored}};
}

int RunSnapshots() {
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<std::vector<SnapshotRef>> all = (*repo)->ListSnapshots();
  if (!all.ok()) return Fail(all.status());
  PrintNewWarnings(repo->get());
  // The mark is as of the last `cairn repair`: listing does not read the data to re-judge it.
  std::vector<std::string> problems;
  Result<std::vector<DamagedSnapshot>> marked = MarkedDamagedSnapshots(repo->get(), &problems);
  if (!marked.ok()) problems.push_back("repair records: " + marked.status().message());
  for (const std::string& p : problems) std::cerr << "cairn: warning: " << p << "\n";
  std::unordered_set<Id> damaged;
  if (marked.ok())
    for (const DamagedSnapshot& d : *marked) damaged.insert(d.id);
  if (Globals().json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : *all) {
      arr.push_back(SnapshotJson(r));
      arr.back()["damaged"] = damaged.count(r.id) > 0;
    }
    PrintJson(arr);
    return kExitOk;
  }
  printf("%-8s  %-19s  %-12s  %-9s  %10s  %-12s  %s\n", "ID", "Time", "Host", "Kind", "Size",
         "Tags", "Paths");
  for (const auto& r : *all) {
    const Snapshot& s = r.snapshot;
    std::string what = s.is_stream() ? s.stdin_name : Join(s.paths, ", ");
    printf("%-8s  %-19s  %-12s  %-9s  %10s  %-12s  %s%s%s\n", r.id.ShortHex().c_str(),
           FormatTime(s.time_ns).c_str(), s.host.c_str(), s.kind.c_str(),
           HumanBytes(s.stats.bytes_raw).c_str(), Join(s.tags, ",").c_str(), what.c_str(),
           s.partial() ? "  (partial)" : "", damaged.count(r.id) ? "  (DAMAGED: see `cairn repair`)" : "");
  }
  printf("%zu snapshots\n", all->size());
  return kExitOk;
}

std::string ModeString(const Node& n) {
  std::string m = n.type == NodeType::kDir ? "d" : n.type == NodeType::kSymlink ? "l" : "-";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) m += (n.mode & (0400 >> i)) ? rwx[i] : '-';
  return m;
}

int RunLs(const std::string& ref, const std::string& path) {
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  Result<SnapshotRef> snap = FindSnapshot(repo->get(), ref);
  if (!snap.ok()) return Fail(snap.status());
  Id root = snap->snapshot.tree;
  std::string prefix;
  if (!path.empty()) {
    Result<std::vector<std::string>> parts = SplitSnapshotPath(path);
    if (!parts.ok()) return Fail(parts.status());
    prefix = Join(*parts, "/");
  }
  nlohmann::json arr = nlohmann::json::array();
  auto print = [&](const std::string& p, const Node& n) {
    if (Globals().json) {
      nlohmann::json j = {{"path", p},         {"type", n.type == NodeType::kDir   ? "dir"
                                                        : n.type == NodeType::kFile ? "file"
                                                                                    : "symlink"},
                          {"mode", n.mode},    {"size", n.size},
                          {"user", n.user},    {"group", n.group},
                          {"mtime_ns", n.mtime_ns}};
      if (n.type == NodeType::kSymlink) j["target"] = n.link_target;
      arr.push_back(j);
    } else {
      printf("%s %-8s %-8s %12llu %s %s%s\n", ModeString(n).c_str(),
             n.user.empty() ? std::to_string(n.uid).c_str() : n.user.c_str(),
             n.group.empty() ? std::to_string(n.gid).c_str() : n.group.c_str(),
             static_cast<unsigned long long>(n.size), FormatTime(n.mtime_ns).c_str(), p.c_str(),
             n.type == NodeType::kSymlink ? (" -> " + n.link_target).c_str() : "");
    }
  };
  Status s;
  if (!prefix.empty()) {
    Result<Node> node = FindNode(repo->get(), root, prefix);
    if (!node.ok()) return Fail(node.status());
    print(prefix, *node);
    if (node->type == NodeType::kDir)
      s = WalkTree(repo->get(), node->subtree, prefix, [&](const std::string& p, const Node& n) {
        print(p, n);
        return Result<bool>(true);
      });
  } else {
    s = WalkTree(repo->get(), root, "", [&](const std::string& p, const Node& n) {
      print(p, n);
      return Result<bool>(true);
    });
  }
  if (Globals().json) PrintJson(arr);
  return s.ok() ? kExitOk : Fail(s);
}
}  // namespace

void RegisterSnapshots(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand("snapshots", "List snapshots, oldest first");
  cmd->callback([exit_code] { *exit_code = RunSnapshots(); });
}

void RegisterLs(CLI::App& app, int* exit_code) {
  auto ref = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("ls", "List the contents of a snapshot");
  cmd->add_option("snapshot", *ref, "Snapshot id, unique prefix, or 'latest'")->required();
  cmd->add_option("path", *path, "Only this path (and what is below it)");
  cmd->callback([ref, path, exit_code] { *exit_code = RunLs(*ref, *path); });
}

}  // namespace cairn::cli
