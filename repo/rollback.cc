#include "repo/rollback.h"

#include <sys/stat.h>

#include <filesystem>

#include "repo/backup.h"

namespace cairn {

namespace {
// Passes on what the pre-rollback backup could not read, not its progress (the restore's
// progress is the one shown).
class ProblemsOnly : public Reporter {
 public:
  explicit ProblemsOnly(Reporter* to) : to_(to) {}
  void Problem(const std::string& path, const Status& status) override {
    if (to_) to_->Problem(path, status.WithContext("pre-rollback snapshot"));
  }
  bool WantsProgress() const override { return false; }

 private:
  Reporter* to_;
};
}  // namespace

std::vector<std::string> PreRollbackTags(const Id& snapshot_id) {
  return {"pre-rollback", "rollback-to:" + snapshot_id.ShortHex()};
}

Result<RollbackResult> RollBack(Repository* repo, const Snapshot& snapshot, const Id& snapshot_id,
                                const RollbackOptions& options, Reporter* reporter) {
  if (!options.restore.in_place) return Status::InvalidArgument("a rollback is an in-place restore");
  RollbackResult result;
  struct stat st;
  bool target_exists = stat(options.restore.target.c_str(), &st) == 0;
  if (target_exists && !S_ISDIR(st.st_mode))
    return Status::InvalidArgument(options.restore.target + " is not a folder");
  // Nothing to keep: no dry run and no undo snapshot.
  if (options.restore.dry_run || !options.undo_snapshot || !target_exists) {
    ASSIGN_OR_RETURN(result.applied, RestoreToDir(repo, snapshot, options.restore, reporter));
    return result;
  }

  // Only to decide whether anything changes: the apply below compares again, in the operator's
  // mode, so a full plan would read every changed file one more time.
  RestoreOptions plan_options = options.restore;
  plan_options.dry_run = true;
  plan_options.stop_at_first_change = true;
  plan_options.verify = false;
  ASSIGN_OR_RETURN(result.plan, RestoreToDir(repo, snapshot, plan_options, reporter));
  if (!result.plan.changed()) {
    result.applied = result.plan;
    return result;
  }

  std::error_code ec;
  std::string target = std::filesystem::canonical(options.restore.target, ec).string();
  if (ec) return Status::IOError(options.restore.target + ": " + ec.message());
  BackupOptions backup;
  backup.tags = PreRollbackTags(snapshot_id);
  KnownLiveTree known;  // what the snapshot reads, the restore need not read again
  backup.record_live_tree = &known;
  backup.threads = options.threads;
  ProblemsOnly problems(reporter);
  ASSIGN_OR_RETURN(BackupResult undo, BackupPaths(repo, {target}, backup, &problems));
  if (undo.snapshot.partial())
    return Status::IOError("the pre-rollback snapshot " + undo.snapshot_id.ShortHex() + " of " + target +
                           " is partial (" + std::to_string(undo.snapshot.stats.errors) +
                           " entries could not be read): nothing was changed; make them readable, or "
                           "skip the pre-rollback snapshot");
  result.undo_snapshot = undo.snapshot_id;
  result.undo_root = std::filesystem::path(target).filename().string();
  if (reporter)
    reporter->Notice(options.restore.target,
                     "pre-rollback snapshot " + undo.snapshot_id.Hex() + " keeps the tree as it was");

  if (options.after_undo_snapshot_for_test) options.after_undo_snapshot_for_test();
  RestoreOptions apply = options.restore;
  apply.known_live_tree = &known;
  ASSIGN_OR_RETURN(result.applied, RestoreToDir(repo, snapshot, apply, reporter));
  return result;
}

}  // namespace cairn
