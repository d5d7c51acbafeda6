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
};

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

int Report(const BackupResult& r, const CliReporter& reporter) {
  const Snapshot& s = r.snapshot;
  const SnapshotStats& st = s.stats;
  if (Globals().json) {
    PrintJson({{"snapshot", r.snapshot_id.Hex()},
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
    if (st.errors) std::cout << "  " << st.errors << " entries could not be read (see above)\n";
  }
  (void)reporter;
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
  if (f.from_command && command.empty())
    return Fail(Status::InvalidArgument("--stdin-from-command needs a command after --"));
  bool stream = f.use_stdin || f.from_command;
  if (stream && !f.paths.empty())
    return Fail(Status::InvalidArgument("give either paths or --stdin, not both"));
  if (!stream && f.paths.empty()) return Fail(Status::InvalidArgument("nothing to back up"));
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
  return Report(*r, reporter);
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
  cmd->callback([f, exit_code] { *exit_code = RunSnapshot(*f); });
}

}  // namespace cairn::cli
