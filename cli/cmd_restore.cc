// cairn restore: a snapshot back into a folder, or one file to stdout.
#include <unistd.h>

#include <iostream>

#include "cli/context.h"
#include "repo/restore.h"

namespace cairn::cli {

namespace {
struct RestoreFlags {
  std::string snapshot, path, target;
  std::vector<std::string> includes;
  bool to_stdout = false;
  int threads = 0;
};

int RunRestore(const RestoreFlags& f) {
  if (f.to_stdout == !f.target.empty())
    return Fail(Status::InvalidArgument("give exactly one of --target DIR or --stdout"));
  if (!f.path.empty() && !f.to_stdout)
    return Fail(Status::InvalidArgument("a path goes with --stdout; use --include with --target"));
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  if (f.to_stdout) {
    // "REF:PATH" names the file here, like the separate path argument.
    size_t colon = f.snapshot.find(':');
    std::string path = f.path.empty() && colon != std::string::npos ? f.snapshot.substr(colon + 1) : f.path;
    Result<SnapshotRef> snap = FindSnapshot(repo->get(), f.snapshot.substr(0, colon));
    if (!snap.ok()) return Fail(snap.status());
    if (isatty(1)) return Fail(Status::InvalidArgument("refusing to write binary data to a terminal"));
    Result<uint64_t> n = RestoreToFd(repo->get(), snap->snapshot, path, 1);
    if (!n.ok()) return Fail(n.status().WithContext("restore"));
    return kExitOk;
  }
  Result<SnapshotSelection> sel = SelectSnapshot(repo->get(), f.snapshot);
  if (!sel.ok()) return Fail(sel.status());
  const SnapshotRef* snap = &sel->ref;
  RestoreOptions options;
  options.target = f.target;
  options.includes = f.includes;
  options.threads = f.threads;
  options.restore_owner = geteuid() == 0;
  CliReporter reporter("restore");
  if (f.includes.empty()) reporter.Total(snap->snapshot.stats.bytes_raw);
  Result<RestoreResult> r = RestoreToDir(repo->get(), snap->snapshot, options, &reporter);
  reporter.Done();
  if (!r.ok()) return Fail(r.status().WithContext("restore"));
  if (Globals().json) {
    PrintJson({{"snapshot", snap->id.Hex()}, {"files", r->files}, {"dirs", r->dirs},
               {"symlinks", r->symlinks}, {"bytes", r->bytes}, {"damaged", r->damaged},
               {"failed", r->failed}});
  } else if (!Globals().quiet) {
    std::cout << "restored " << r->files << " files, " << r->dirs << " dirs, " << r->symlinks
              << " symlinks, " << HumanBytes(r->bytes) << " to " << f.target << "\n";
  }
  if (r->damaged) {
    std::cerr << "cairn: " << r->damaged
              << " entries were NOT restored because repository data is damaged (listed above)\n";
    return kExitDamage;
  }
  if (r->failed) {
    std::cerr << "cairn: " << r->failed << " entries could not be written (listed above)\n";
    return kExitFailure;
  }
  return kExitOk;
}
}  // namespace

void RegisterRestore(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RestoreFlags>();
  CLI::App* cmd = app.add_subcommand("restore", "Restore a snapshot to a folder or to stdout");
  cmd->add_option("snapshot", f->snapshot, "Snapshot id, unique prefix, or 'latest'; REF:PATH restores the folder PATH as the root")->required();
  cmd->add_option("path", f->path, "With --stdout: the file to write (default: the stream)");
  cmd->add_option("-t,--target", f->target, "Folder to restore into (created if missing)");
  cmd->add_option("-i,--include", f->includes, "Restore only paths matching this glob (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--stdout", f->to_stdout, "Write one file or the stream to standard output");
  cmd->add_option("--threads", f->threads, "Worker threads (default: one per core)");
  cmd->callback([f, exit_code] { *exit_code = RunRestore(*f); });
}

}  // namespace cairn::cli
