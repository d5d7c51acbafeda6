// cairn restore: a snapshot back into a folder, or one file to stdout. With --in-place, over an
// existing tree, changing only what differs, after a pre-rollback snapshot (repo/rollback.h).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/context.h"
#include "repo/restore.h"
#include "repo/rollback.h"

namespace cairn::cli {

namespace {
struct RestoreFlags {
  std::string snapshot, path, target;
  std::vector<std::string> includes;
  bool to_stdout = false, in_place = false, delete_extra = false, dry_run = false, quick = false;
  bool no_undo = false, verify = false, checksum = false;
  int threads = 0;
};

Status CheckFlags(const RestoreFlags& f) {
  if (f.to_stdout == !f.target.empty())
    return Status::InvalidArgument("give exactly one of --target DIR or --stdout");
  if (!f.path.empty() && !f.to_stdout)
    return Status::InvalidArgument("a path goes with --stdout; use --include with --target");
  if (!f.in_place && (f.delete_extra || f.dry_run || f.quick || f.no_undo || f.checksum))
    return Status::InvalidArgument("--delete, --dry-run, --quick, --checksum and --no-undo-snapshot go with --in-place");
  if (f.quick && f.checksum) return Status::InvalidArgument("--quick and --checksum exclude each other");
  if (f.to_stdout && (f.in_place || f.verify))
    return Status::InvalidArgument("--in-place and --verify go with --target");
  if (f.in_place && !f.includes.empty())
    return Status::InvalidArgument("--in-place takes no --include; name a folder with SNAPSHOT:PATH");
  return Status::OK();
}

// `restore latest --target /srv/app --in-place` where the snapshot's only root entry is "app"
// would put the tree in /srv/app/app (and --delete would empty /srv/app): ask for latest:app.
Status CheckRoot(Repository* repo, const SnapshotSelection& sel, const std::string& target) {
  if (!sel.subpath.empty()) return Status::OK();
  ASSIGN_OR_RETURN(Tree root, repo->LoadTree(sel.ref.snapshot.tree));
  std::string name = std::filesystem::path(target).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(target).lexically_normal().parent_path().filename().string();
  if (root.nodes.size() == 1 && root.nodes[0].type == NodeType::kDir && root.nodes[0].name == name)
    return Status::InvalidArgument("the snapshot holds the folder '" + name + "': to roll " + target +
                                   " back, restore " + sel.ref.id.ShortHex() + ":" + name);
  return Status::OK();
}

void PrintPlan(const RestoreResult& r, const std::string& target) {
  for (const PlannedChange& c : r.changes)
    std::cout << "  " << c.action << std::string(c.action.size() < 9 ? 9 - c.action.size() : 1, ' ')
              << c.path << (c.bytes ? " (" + HumanBytes(c.bytes) + ")" : "") << "\n";
  std::cout << "dry run, nothing changed in " << target << ": would write " << r.files << " files, "
            << r.dirs << " dirs, " << r.symlinks << " symlinks (" << HumanBytes(r.bytes) << ": "
            << HumanBytes(r.bytes_reused) << " reused from the live files, " << HumanBytes(r.bytes_fetched)
            << " read from the repository), set metadata of " << r.metadata << ", delete " << r.deleted
            << " entries (" << HumanBytes(r.deleted_bytes) << "); " << r.unchanged << " unchanged\n";
}

int RunRestore(const RestoreFlags& f) {
  if (Status s = CheckFlags(f); !s.ok()) return Fail(s);
  // Before the repository: its close (the index's flush) overlaps the last closes. Only an
  // in-place restore replaces or deletes live files.
  std::optional<CloseBehind> close_behind;
  if (f.in_place && !f.dry_run) close_behind.emplace();
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
  if (f.in_place)
    if (Status s = CheckRoot(repo->get(), *sel, f.target); !s.ok()) return Fail(s);
  const SnapshotRef* snap = &sel->ref;
  RollbackOptions options;
  RestoreOptions& ro = options.restore;
  ro.target = f.target;
  ro.includes = f.includes;
  ro.threads = options.threads = f.threads;
  ro.restore_owner = geteuid() == 0;
  ro.verify = f.verify;
  ro.in_place = f.in_place;
  ro.delete_extra = f.delete_extra;
  ro.dry_run = f.dry_run;
  ro.quick = f.quick;
  ro.checksum = f.checksum;
  ro.list_changes = f.dry_run;
  ro.close_behind = close_behind ? &*close_behind : nullptr;
  options.undo_snapshot = !f.no_undo;
  if (f.in_place && !f.dry_run && f.no_undo)
    std::cerr << "cairn: warning: --no-undo-snapshot: the tree as it stands is not kept\n";
  CliReporter reporter("restore");
  if (f.includes.empty() && !f.in_place) reporter.Total(snap->snapshot.stats.bytes_raw);
  Result<RollbackResult> rb = [&]() -> Result<RollbackResult> {
    if (f.in_place) return RollBack(repo->get(), snap->snapshot, snap->id, options, &reporter);
    RollbackResult plain;
    ASSIGN_OR_RETURN(plain.applied, RestoreToDir(repo->get(), snap->snapshot, ro, &reporter));
    return plain;
  }();
  reporter.Done();
  if (!rb.ok()) return Fail(rb.status().WithContext("restore"));
  const RestoreResult* r = &rb->applied;
  std::string undo_cmd;
  if (rb->undo_snapshot)
    undo_cmd = "cairn restore " + rb->undo_snapshot->ShortHex() + ":" + rb->undo_root + " --target " +
               f.target + " --in-place --delete";
  if (Globals().json) {
    nlohmann::json j = {{"snapshot", snap->id.Hex()}, {"files", r->files}, {"dirs", r->dirs},
                        {"symlinks", r->symlinks}, {"bytes", r->bytes}, {"damaged", r->damaged},
                        {"failed", r->failed}, {"bytes_fetched", r->bytes_fetched}};
    if (f.in_place) {
      // Files read to compare, in both passes; when nothing changed the dry run is the result.
      j.update({{"dry_run", f.dry_run}, {"unchanged", r->unchanged}, {"metadata", r->metadata},
                {"deleted", r->deleted}, {"deleted_bytes", r->deleted_bytes},
                {"bytes_reused", r->bytes_reused}, {"conflicts", r->conflicts},
                {"stale_temps", r->stale_temps}, {"compared", (rb->undo_snapshot ? rb->plan.compared : 0) + r->compared}});
      if (rb->undo_snapshot) j.update({{"undo_snapshot", rb->undo_snapshot->Hex()}, {"undo_command", undo_cmd}});
    }
    if (f.dry_run) {
      nlohmann::json changes = nlohmann::json::array();
      for (const PlannedChange& c : r->changes)
        changes.push_back({{"path", c.path}, {"action", c.action}, {"bytes", c.bytes}});
      j["changes"] = changes;
    }
    if (f.verify) j.update({{"verified", r->verified}, {"verify_mismatches", r->verify_mismatches}});
    PrintJson(j);
  } else if (f.dry_run) {
    PrintPlan(*r, f.target);
  } else if (!Globals().quiet) {
    if (f.in_place && !r->changed()) {
      std::cout << f.target << " already matches " << snap->id.ShortHex() << " (" << r->unchanged
                << " entries checked); nothing changed\n";
    } else {
      std::cout << "restored " << r->files << " files, " << r->dirs << " dirs, " << r->symlinks
                << " symlinks, " << HumanBytes(r->bytes) << " to " << f.target << " ("
                << HumanBytes(r->bytes_fetched) << " read from the repository";
      if (f.in_place)
        std::cout << ", " << HumanBytes(r->bytes_reused) << " reused from the live files; metadata set on "
                  << r->metadata << ", " << r->deleted << " deleted, " << r->unchanged << " unchanged";
      std::cout << ")\n";
    }
    if (f.verify) std::cout << "verified " << r->verified << " files read back from disk, " << r->verify_mismatches << " differ\n";
    if (rb->undo_snapshot)
      std::cout << "pre-rollback snapshot " << rb->undo_snapshot->ShortHex() << " keeps the previous tree; undo with:\n  "
                << undo_cmd << "\n";
  }
  if (r->damaged) {
    std::cerr << "cairn: " << r->damaged
              << " entries were NOT restored because repository data is damaged (listed above)\n";
    return kExitDamage;
  }
  if (r->verify_mismatches) {
    std::cerr << "cairn: " << r->verify_mismatches << " restored files differ from the snapshot when read back (listed above)\n";
    return kExitVerifyFailed;
  }
  if (r->failed || r->conflicts) {
    if (r->failed) std::cerr << "cairn: " << r->failed << " entries could not be written (listed above)\n";
    if (r->conflicts)
      std::cerr << "cairn: " << r->conflicts << " folders in the target stand where the snapshot has a file or symlink; --delete replaces them\n";
    return kExitFailure;
  }
  return kExitOk;
}
}  // namespace

void RegisterRestore(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<RestoreFlags>();
  CLI::App* cmd = app.add_subcommand("restore", "Restore a snapshot to a folder or to stdout, or roll a tree back in place");
  cmd->add_option("snapshot", f->snapshot, "Snapshot id, unique prefix, or 'latest'; REF:PATH restores the folder PATH as the root")->required();
  cmd->add_option("path", f->path, "With --stdout: the file to write (default: the stream)");
  cmd->add_option("-t,--target", f->target, "Folder to restore into (created if missing)");
  cmd->add_option("-i,--include", f->includes, "Restore only paths matching this glob (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--stdout", f->to_stdout, "Write one file or the stream to standard output");
  cmd->add_flag("--in-place", f->in_place, "Restore over the existing target, changing only what differs (after a pre-rollback snapshot)");
  cmd->add_flag("--delete", f->delete_extra, "With --in-place: remove entries that are not in the snapshot");
  cmd->add_flag("--dry-run", f->dry_run, "With --in-place: print what would change, change nothing");
  cmd->add_flag("--quick", f->quick, "With --in-place: trust equal size and mtime instead of comparing content");
  cmd->add_flag("--checksum", f->checksum,
                "With --in-place: compare the content of every file, also of files untouched since the "
                "snapshot read them (same inode and ctime)");
  cmd->add_flag("--no-undo-snapshot", f->no_undo, "With --in-place: do not snapshot the target before changing it");
  cmd->add_flag("--verify", f->verify, "Read written files back from disk and check them against the snapshot");
  cmd->add_option("--threads", f->threads, "Worker threads (default: one per core)");
  cmd->callback([f, exit_code] { *exit_code = RunRestore(*f); });
}

}  // namespace cairn::cli
