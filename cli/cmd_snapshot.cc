// cairn snapshot: back up paths, stdin, or a command's output.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>

#include "cli/context.h"
#include "repo/backup.h"

namespace cairn::cli {

namespace {
struct SnapshotFlags {
  std::vector<std::string> paths;
  std::vector<std::string> tags;
  std::string host, kind, stdin_name = "stdin";
  bool use_stdin = false;
  bool from_command = false;  // the positional arguments are a command to run
  int threads = 0;
  std::string parent;
  bool force = false;
  std::vector<std::string> excludes, exclude_files, exclude_if_present, files_from, files_from_0;
  bool one_file_system = false;
};

// The selection flags (docs/OPERATIONS.md "Choosing what is backed up") into options and paths.
Status ApplySelection(const SnapshotFlags& f, BackupOptions* options, std::vector<std::string>* paths) {
  Selection& sel = options->selection;
  for (const std::string& p : f.excludes) RETURN_IF_ERROR(sel.patterns.Add(p).WithContext("--exclude"));
  for (const std::string& file : f.exclude_files) RETURN_IF_ERROR(sel.patterns.AddFile(file));
  sel.exclude_if_present = f.exclude_if_present;
  for (const std::string& n : sel.exclude_if_present)
    if (!IsValidNodeName(n))
      return Status::InvalidArgument("--exclude-if-present takes a file name, not '" + n + "'");
  sel.one_file_system = f.one_file_system;
  for (bool nul : {false, true}) {
    for (const std::string& file : nul ? f.files_from_0 : f.files_from) {
      ASSIGN_OR_RETURN(std::vector<std::string> listed, ReadPathList(file, nul));
      paths->insert(paths->end(), listed.begin(), listed.end());
    }
  }
  return Status::OK();
}

// Runs a command with its stdout on a pipe; reports its exit status when asked.
class Producer {
 public:
  Status Start(const std::vector<std::string>& argv) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno(errno, "pipe");
    pid_ = fork();
    if (pid_ < 0) return Status::FromErrno(errno, "fork");
    if (pid_ == 0) {
      dup2(fds[1], 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    return Status::OK();
  }
  int fd() const { return fd_; }
  Status Wait(const std::string& name) {
    close(fd_);
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::OK();
    std::string why = WIFEXITED(st) ? "exited with status " + std::to_string(WEXITSTATUS(st))
                                    : "was killed by signal " + std::to_string(WTERMSIG(st));
    return Status::Aborted("the command producing " + name + " " + why +
                           "; no snapshot was written");
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

int Report(const BackupResult& r, const BackupOptions& options) {
  const Snapshot& s = r.snapshot;
  const SnapshotStats& st = s.stats;
  const Selection& sel = options.selection;
  if (Globals().json) {
    PrintJson({{"snapshot", r.snapshot_id.Hex()},
               {"excluded", r.excluded},
               {"exclude_patterns", sel.patterns.patterns()},
               {"exclude_if_present", sel.exclude_if_present},
               {"one_file_system", sel.one_file_system},
               {"changed_during_read", r.changed_during_read},
               {"partial", s.partial()},
               {"files", st.files},
               {"files_unchanged", r.files_unchanged},
               {"parent", s.parent.IsZero() ? "" : s.parent.Hex()},
               {"dirs", st.dirs},
               {"bytes", st.bytes_raw},
               {"blobs_added", st.blobs_added},
               {"bytes_added", st.bytes_added_raw},
               {"bytes_stored", st.bytes_added_stored},
               {"errors", st.errors}});
  } else if (!Globals().quiet) {
    std::cout << "snapshot " << r.snapshot_id.Hex() << (s.partial() ? " (PARTIAL)" : "") << "\n"
              << "  " << st.files << " files (" << r.files_unchanged << " unchanged since "
              << (s.parent.IsZero() ? std::string("-") : s.parent.ShortHex()) << "), " << st.dirs
              << " dirs, " << HumanBytes(st.bytes_raw) << "\n"
              << "  added " << HumanBytes(st.bytes_added_raw) << " new data ("
              << HumanBytes(st.bytes_added_stored) << " stored)\n";
    if (!sel.empty()) {
      std::cout << "  selection:";
      for (const std::string& p : sel.patterns.patterns()) std::cout << " --exclude '" << p << "'";
      for (const std::string& n : sel.exclude_if_present) std::cout << " --exclude-if-present '" << n << "'";
      if (sel.one_file_system) std::cout << " --one-file-system";
      std::cout << "; " << r.excluded << " entries excluded\n";
    }
    if (r.changed_during_read)
      std::cout << "  " << r.changed_during_read
                << " files changed while being read (flagged in the snapshot; see above)\n";
    if (st.errors) std::cout << "  " << st.errors << " entries could not be read (see above)\n";
  }
  return s.partial() ? kExitPartial : kExitOk;
}

int RunSnapshot(SnapshotFlags f) {
  std::vector<std::string> command;
  if (f.from_command) command.swap(f.paths);
  BackupOptions options;
  options.host = f.host;
  options.tags = f.tags;
  options.kind = f.kind;
  options.threads = f.threads;
  options.parent = f.parent;
  options.force = f.force;
  if (Status sel = ApplySelection(f, &options, &f.paths); !sel.ok()) return Fail(sel);
  if (f.from_command && command.empty())
    return Fail(Status::InvalidArgument("--stdin-from-command needs a command after --"));
  bool stream = f.use_stdin || f.from_command;
  if (stream && !f.paths.empty())
    return Fail(Status::InvalidArgument("give either paths or --stdin, not both"));
  if (!stream && f.paths.empty()) return Fail(Status::InvalidArgument("nothing to back up"));
  if (stream && !options.selection.empty())
    return Fail(Status::InvalidArgument("--exclude and the other selection flags apply to paths, not to --stdin"));
  Result<std::unique_ptr<Repository>> repo = OpenRepository();
  if (!repo.ok()) return Fail(repo.status());
  CliReporter reporter("snapshot");
  Result<BackupResult> r = Status::InvalidArgument("unreachable");
  if (f.from_command) {
    Producer producer;
    Status s = producer.Start(command);
    if (!s.ok()) return Fail(s);
    FdReader reader(producer.fd());
    r = BackupStream(repo->get(), &reader, f.stdin_name, options, &reporter,
                     [&] { return producer.Wait(f.stdin_name); });
  } else if (f.use_stdin) {
    FdReader reader(0);
    r = BackupStream(repo->get(), &reader, f.stdin_name, options, &reporter, nullptr);
  } else {
    r = BackupPaths(repo->get(), f.paths, options, &reporter);
  }
  reporter.Done();
  if (!r.ok()) return Fail(r.status().WithContext("snapshot not written"));
  return Report(*r, options);
}
}  // namespace

void RegisterSnapshot(CLI::App& app, int* exit_code) {
  auto f = std::make_shared<SnapshotFlags>();
  CLI::App* cmd = app.add_subcommand("snapshot", "Back up files, directories or a stream");
  cmd->add_option("paths", f->paths, "Files and directories to back up");
  // One value per --tag, so paths after it are not taken as more tags.
  cmd->add_option("--tag", f->tags, "Tag the snapshot (repeatable)")->allow_extra_args(false);
  cmd->add_option("--host", f->host, "Host name to record (default: this machine's)");
  cmd->add_option("--kind", f->kind, "What the data is: files, pg-dump, wal, redis-rdb, tar…");
  cmd->add_flag("--stdin", f->use_stdin, "Back up standard input as one file");
  cmd->add_option("--stdin-name", f->stdin_name, "File name for the stream (default: stdin)");
  cmd->add_flag("--stdin-from-command", f->from_command,
                "Run the command given after -- and back up its output; if it fails, no "
                "snapshot is written (e.g. --stdin-from-command -- pg_dump -Fc -Z0 db)");
  cmd->add_option("--threads", f->threads, "Worker threads (default: one per core)");
  cmd->add_option("--parent", f->parent,
                  "Snapshot to compare with (default: newest of the same host and paths)");
  cmd->add_flag("--force", f->force, "Read every file, even unchanged ones");
  // Selection: the syntax is documented once, in docs/OPERATIONS.md.
  const char* see = " (syntax: docs/OPERATIONS.md \"Choosing what is backed up\")";
  cmd->add_option("--exclude", f->excludes,
                  std::string("Leave out entries matching a gitignore-like pattern, relative to "
                              "each backed-up path (repeatable)") + see)
      ->allow_extra_args(false);
  cmd->add_option("--exclude-file", f->exclude_files,
                  std::string("Read exclude patterns from a file, one per line (repeatable)") + see)
      ->allow_extra_args(false);
  cmd->add_option("--exclude-if-present", f->exclude_if_present,
                  "Leave out directories holding an entry of this name, e.g. .nobackup or "
                  "CACHEDIR.TAG (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("--one-file-system", f->one_file_system,
                "Do not descend into other file systems (mount points are stored empty)");
  cmd->add_option("--files-from", f->files_from,
                  "Back up the paths listed in a file, one per line ('#' comments)")
      ->allow_extra_args(false);
  cmd->add_option("--files-from-0", f->files_from_0,
                  "Back up the paths listed in a file, separated by NUL bytes (find -print0)")
      ->allow_extra_args(false);
  cmd->callback([f, exit_code] { *exit_code = RunSnapshot(*f); });
}

}  // namespace cairn::cli
