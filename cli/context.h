// What every command shares: global flags, password and repository opening,
// output (text or JSON), and turning a Status into a message and an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/exit_codes.h"
#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn::cli {

struct GlobalOptions {
  std::string repo;       // --repo or CAIRN_REPO
  std::string cache_dir;  // --cache-dir or CAIRN_CACHE_DIR
  bool json = false;
  bool quiet = false;
  bool no_key_cache = false;  // --no-key-cache: ask for the password even if a key is cached
};

GlobalOptions& Globals();

// Reads the password: CAIRN_PASSWORD, CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND, or a prompt
// on the terminal (twice when `confirm`).
Result<std::string> ReadPassword(bool confirm);

std::string CacheDir();
Result<std::string> RepoLocation();
Result<std::unique_ptr<Backend>> OpenBackend(bool create);
Result<std::unique_ptr<Repository>> OpenRepository();

// Prints repository warnings not printed yet (unreadable objects met so far).
void PrintNewWarnings(Repository* repo);
// Repository::FindSnapshot, printing what it had to skip (damaged snapshot objects).
Result<SnapshotRef> FindSnapshot(Repository* repo, const std::string& ref);

// A snapshot, or a folder inside one: "REF" or "REF:PATH" (e.g. "latest:service/conf").
// With a path, the returned snapshot's tree is that folder's tree, so restore and diff treat
// the folder as the root; `subpath` keeps the path for messages.
struct SnapshotSelection {
  SnapshotRef ref;
  std::string subpath;
};
Result<SnapshotSelection> SelectSnapshot(Repository* repo, const std::string& arg);

// Prints "cairn: <message>" to stderr (or a JSON error line) and returns the exit code.
int Fail(const Status& status);

// Reporter for the terminal: problems to stderr, progress on a TTY only.
class CliReporter : public Reporter {
 public:
  explicit CliReporter(const char* verb);
  ~CliReporter() override;
  void Problem(const std::string& path, const Status& status) override;
  void Notice(const std::string& path, const std::string& what) override;
  bool WantsProgress() const override { return tty_ || Globals().json; }
  void Total(uint64_t bytes) override;
  void Progress(uint64_t bytes_done, const std::string& current) override;
  void Done();
  uint64_t problems() const { return problems_; }

 private:
  std::mutex mu_;
  const char* verb_;
  bool tty_;
  int64_t start_ns_, last_ns_;
  bool drawn_ = false;
  uint64_t problems_ = 0;
  uint64_t total_ = 0;  // 0: unknown
};

std::string HumanBytes(uint64_t bytes);
std::string FormatTime(int64_t time_ns);
void PrintJson(const nlohmann::json& j);

// Prune options and run, shared by `prune` and `forget --prune`.
struct PruneFlags {
  bool dry_run = false, no_other_writers = false;
  std::string grace = "48h";
  double max_unused = 5;
};
void AddPruneFlags(CLI::App* cmd, PruneFlags* f);
// With --json and `json_out`, the report goes there instead of stdout (one document per command).
int PruneAndReport(Repository* repo, const PruneFlags& f, nlohmann::json* json_out = nullptr);

// Each command registers itself on the app and sets the exit code when run.
void RegisterInit(CLI::App& app, int* exit_code);
void RegisterSnapshot(CLI::App& app, int* exit_code);
void RegisterSnapshots(CLI::App& app, int* exit_code);
void RegisterLs(CLI::App& app, int* exit_code);
void RegisterRestore(CLI::App& app, int* exit_code);
void RegisterIndex(CLI::App& app, int* exit_code);
void RegisterScrub(CLI::App& app, int* exit_code);
void RegisterBench(CLI::App& app, int* exit_code);
void RegisterForget(CLI::App& app, int* exit_code);
void RegisterPrune(CLI::App& app, int* exit_code);
void RegisterStats(CLI::App& app, int* exit_code);
void RegisterRepair(CLI::App& app, int* exit_code);
void RegisterDiff(CLI::App& app, int* exit_code);
void RegisterDemo(CLI::App& app, int* exit_code);
void RegisterKey(CLI::App& app, int* exit_code);

}  // namespace cairn::cli
