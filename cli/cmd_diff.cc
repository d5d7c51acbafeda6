// cairn diff A B: what changed between two snapshots, or between a snapshot and live files.
#include <sys/stat.h>

#include <iostream>

#include "cli/context.h"
#include "repo/diff.h"
#include "repo/live_diff.h"
#include "repo/walker.h"

namespace cairn::cli {

namespace {
struct DiffFlags {
  std::string a, b;
  bool quick = false;
  int threads = 0;
  std::vector<std::string> excludes, exclude_files, exclude_if_present;
  bool one_file_system = false;
  bool selecting() const {
    return !excludes.empty() || !exclude_files.empty() || !exclude_if_present.empty() || one_file_system;
  }
};

// The snapshot's selection flags, so what it left out is not listed as added.
Status BuildSelection(const DiffFlags& f, Selection* sel) {
  for (const std::string& p : f.excludes) RETURN_IF_ERROR(sel->patterns.Add(p).WithContext("--exclude"));
  for (const std::string& file : f.exclude_files) RETURN_IF_ERROR(sel->patterns.AddFile(file));
  sel->exclude_if_present = f.exclude_if_present;
  sel->one_file_system = f.one_file_system;
  return Status::OK();
}

// B names live files when it is "." or "..", or has a '/' before any ':' ("/srv/app", "./app",
// "data/app"). Otherwise it is a snapshot reference ("latest", "3fa2c1", "latest:app/conf").
bool IsLivePath(const std::string& s) {
  if (s == "." || s == "..") return true;
  size_t slash = s.find('/');
  return slash != std::string::npos && slash < s.find(':');
}

// A bare word that is also a path here ("latest" with a folder named latest in the current
// directory) is refused rather than guessed.
Status CheckNotAmbiguous(const std::string& b) {
  struct stat st;
  if (b.find(':') != std::string::npos || lstat(b.c_str(), &st) != 0) return Status::OK();
  return Status::InvalidArgument("'" + b + "' is both a possible snapshot and a path here: write ./" +
                                 b + " to compare with the path, or " + b + ": for the snapshot");
}

const char* Mark(Change c) {
  const char* marks[] = {"+", "-", "M", "m", "T"};
  return marks[static_cast<int>(c)];
}

struct Printer {
  nlohmann::json changes = nlohmann::json::array();
  void operator()(const DiffEntry& e) {
    if (Globals().json) {
      nlohmann::json j = {{"change", ChangeName(e.change)}, {"path", e.path}};
      if (e.before) j["size_before"] = e.before->size;
      if (e.after) j["size_after"] = e.after->size;
      changes.push_back(j);
    } else {
      std::cout << Mark(e.change) << "  " << e.path << "\n";
    }
  }
};

nlohmann::json Counts(const DiffStats& st) {
  return {{"added", st.added},       {"removed", st.removed}, {"modified", st.content},
          {"metadata", st.metadata}, {"type", st.type}};
}

void PrintSummary(const DiffStats& st) {
  std::cout << st.added << " added, " << st.removed << " removed, " << st.content << " modified, "
            << st.metadata << " metadata only, " << st.type << " changed type";
}

int RunSnapshotDiff(Repository* repo, const std::string& a, const std::string& b) {
  Result<SnapshotSelection> before_sel = SelectSnapshot(repo, a);
  if (!before_sel.ok()) return Fail(before_sel.status());
  Result<SnapshotSelection> after_sel = SelectSnapshot(repo, b);
  if (!after_sel.ok()) return Fail(after_sel.status());
  const SnapshotRef* before = &before_sel->ref;
  const SnapshotRef* after = &after_sel->ref;
  Printer printer;
  Result<DiffStats> st = DiffTrees(repo, before->snapshot.tree, after->snapshot.tree,
                                   [&](const DiffEntry& e) { printer(e); });
  if (!st.ok()) return Fail(st.status());
  if (Globals().json) {
    nlohmann::json j = Counts(*st);
    j["before"] = before->id.Hex();
    j["after"] = after->id.Hex();
    j["changes"] = printer.changes;
    PrintJson(j);
  } else if (!Globals().quiet) {
    PrintSummary(*st);
    std::cout << "\n";
  }
  return st->identical() ? kExitOk : kExitDifferent;
}

// Exit 17 when anything differs; else 3 when some live entries could not be read (the
// comparison is incomplete); else 0.
int RunLiveDiff(Repository* repo, const DiffFlags& f) {
  Result<SnapshotSelection> sel = SelectSnapshot(repo, f.a);
  if (!sel.ok()) return Fail(sel.status());
  LiveDiffOptions options;
  options.quick = f.quick;
  options.threads = f.threads;
  Selection selection;
  if (Status s = BuildSelection(f, &selection); !s.ok()) return Fail(s);
  options.selection = &selection;
  Result<std::vector<std::string>> base = SplitSnapshotPath(sel->subpath);
  if (!base.ok()) return Fail(base.status());
  for (const std::string& part : *base) options.snapshot_base += (options.snapshot_base.empty() ? "" : "/") + part;
  CliReporter reporter("diff");
  Printer printer;
  auto fn = [&](const DiffEntry& e) { printer(e); };
  // "diff latest /srv/app" where /srv/app was backed up: compare it with its own entry.
  Result<std::optional<Node>> entry = std::optional<Node>();
  if (sel->subpath.empty() && f.a.find(':') == std::string::npos)
    entry = BackedUpEntry(repo, sel->ref.snapshot, f.b);
  if (!entry.ok()) return Fail(entry.status());
  Result<LiveDiffResult> r =
      *entry ? DiffLiveEntry(repo, **entry, f.b, options, fn, &reporter)
             : DiffLive(repo, sel->ref.snapshot.tree, f.b, options, fn, &reporter);
  reporter.Done();
  if (!r.ok()) return Fail(r.status());
  const DiffStats& st = r->diff;
  if (Globals().json) {
    nlohmann::json j = Counts(st);
    j["before"] = sel->ref.id.Hex();
    j["live"] = f.b;
    j["quick"] = f.quick;
    j["unreadable"] = r->unreadable;
    j["files_read"] = r->files_read;
    j["bytes_read"] = r->bytes_read;
    j["changes"] = printer.changes;
    PrintJson(j);
  } else if (!Globals().quiet) {
    PrintSummary(st);
    if (r->unreadable) std::cout << ", " << r->unreadable << " unreadable (see above)";
    std::cout << "; " << r->files_read << " files read (" << HumanBytes(r->bytes_read) << ")\n";
  }
  if (!st.identical()) return kExitDifferent;
  return r->unreadable ? kExitPartial : kExitOk;
}

int RunDiff(const DiffFlags& f) {
  bool live = IsLivePath(f.b);
  if (!live) {
    Status s = CheckNotAmbiguous(f.b);
    if (!s.ok()) return Fail(s);
    if (f.quick || f.threads || f.selecting())
      return Fail(Status::InvalidArgument(
          "--quick, --threads and the selection flags apply to a diff with live files"));
  }
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  return live ? RunLiveDiff(repo->get(), f) : RunSnapshotDiff(repo->get(), f.a, f.b);
}
}  // namespace

void RegisterDiff(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<DiffFlags>();
  CLI::App* cmd = app.add_subcommand(
      "diff",
      "Compare two snapshots, or a snapshot with live files (exit 17 when they differ).\n"
      "B is live files when it is . or .. or has a '/' before any ':' (/srv/app, ./app);\n"
      "otherwise a snapshot (latest, 3fa2c1, latest:app/conf). With live files, content is\n"
      "compared by chunk ids computed locally: no data is read from the repository.\n"
      "Exit 0: identical; 17: different; 3: no difference found but some live entries\n"
      "could not be read.");
  cmd->add_option("before", f->a, "Snapshot, or REF:PATH for a folder inside one")->required();
  cmd->add_option("after", f->b, "Snapshot, REF:PATH, or a live path")->required();
  cmd->add_flag("--quick", f->quick,
                "Live files: trust size and mtime (files with both unchanged are not read)");
  cmd->add_option("--threads", f->threads, "Live files: hashing threads (default: one per core)");
  // The snapshot's selection, so entries it left out are not listed as added.
  const char* see = " (as for snapshot; docs/OPERATIONS.md \"Choosing what is backed up\")";
  cmd->add_option("--exclude", f->excludes, std::string("Live files: ignore entries matching a pattern") + see)
      ->allow_extra_args(false);
  cmd->add_option("--exclude-file", f->exclude_files, std::string("Live files: ignore the patterns of a file") + see)
      ->allow_extra_args(false);
  cmd->add_option("--exclude-if-present", f->exclude_if_present,
                  "Live files: ignore directories holding an entry of this name")
      ->allow_extra_args(false);
  cmd->add_flag("--one-file-system", f->one_file_system,
                "Live files: do not compare what lies on other file systems");
  cmd->callback([f, exit_code] { *exit_code = RunDiff(*f); });
}

}  // namespace cairn::cli
