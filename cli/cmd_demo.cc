// cairn demo: the whole job on a generated sample, in a temporary folder.
// init -> snapshot -> change -> snapshot -> list -> restore -> verify, with figures.
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli/context.h"
#include "cli/sample_data.h"
#include "repo/backup.h"
#include "repo/restore.h"
#include "repo/scrub.h"

namespace cairn::cli {

namespace {
namespace fs = std::filesystem;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

uint64_t DiskUsage(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

std::string Rate(uint64_t bytes, double secs) {
  return HumanBytes(static_cast<uint64_t>(static_cast<double>(bytes) / (secs > 0 ? secs : 1e-9))) + "/s";
}

Status RunDemo(std::string dir, bool keep) {
  if (dir.empty()) {
    char tmpl[] = "/tmp/cairn-demo-XXXXXX";
    if (!mkdtemp(tmpl)) return Status::FromErrno(errno, "mkdtemp");
    dir = tmpl;
  }
  std::string data = dir + "/service", repo_dir = dir + "/repo", target = dir + "/restore";
  std::cout << "cairn demo in " << dir << "\n\n";
  SampleSize size;
  RETURN_IF_ERROR(GenerateSample(data, size, 42));
  std::cout << "1. generated a sample service in " << data << ": a " << "SQL dump (db/app.sql), "
            << size.wal_segments << " WAL segments of 16 MiB, " << size.source_files << " source files\n";

  const std::string password = "demo-password";
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> fresh, OpenLocalBackend(repo_dir, true));
  RETURN_IF_ERROR(Repository::Init(fresh.get(), password, InitOptions{}));
  fresh.reset();
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenLocalBackend(repo_dir, false));
  OpenOptions oo;
  oo.cache_dir = dir + "/cache";
  ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo, Repository::Open(std::move(backend), password, oo));
  std::cout << "2. created an encrypted repository: cairn init --repo " << repo_dir << "\n";

  CliReporter reporter("snapshot");
  BackupOptions bo;
  bo.tags = {"demo"};
  auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(BackupResult first, BackupPaths(repo.get(), {data}, bo, &reporter));
  double s1 = Seconds(t0);
  reporter.Done();
  const SnapshotStats& a = first.snapshot.stats;
  std::cout << "3. first snapshot " << first.snapshot_id.ShortHex() << ": read "
            << HumanBytes(a.bytes_raw) << " in " << s1 << " s (" << Rate(a.bytes_raw, s1)
            << "), stored " << HumanBytes(a.bytes_added_stored) << "\n";

  RETURN_IF_ERROR(MutateSample(data, size, 42));
  t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(BackupResult second, BackupPaths(repo.get(), {data}, bo, &reporter));
  double s2 = Seconds(t0);
  reporter.Done();
  const SnapshotStats& b = second.snapshot.stats;
  std::cout << "4. changed rows in the dump, added a WAL segment, edited 5 files; second snapshot "
            << second.snapshot_id.ShortHex() << ": " << second.files_unchanged << " of " << b.files
            << " files unchanged and not re-read, " << HumanBytes(b.bytes_raw) << " in " << s2
            << " s, added only " << HumanBytes(b.bytes_added_raw) << " of new data ("
            << HumanBytes(b.bytes_added_stored) << " stored)\n";

  ASSIGN_OR_RETURN(std::vector<SnapshotRef> all, repo->ListSnapshots());
  std::cout << "5. cairn snapshots:\n";
  for (const SnapshotRef& r : all)
    std::cout << "     " << r.id.ShortHex() << "  " << FormatTime(r.snapshot.time_ns) << "  "
              << HumanBytes(r.snapshot.stats.bytes_raw) << "  " << r.snapshot.paths[0] << "\n";

  ScrubOptions so;
  so.read_data = true;
  t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(ScrubReport scrub, Scrub(repo.get(), so, nullptr));
  double s_scrub = Seconds(t0);
  if (scrub.damaged()) return Status::Corruption("scrub found damage in a fresh repository");
  std::cout << "6. cairn scrub --read-data: " << scrub.snapshots << " snapshots, " << scrub.trees
            << " trees, " << scrub.packs_read << " packs read, " << scrub.blobs_read
            << " blobs authenticated and re-hashed in " << s_scrub << " s: no damage found\n";

  RestoreOptions ro;
  ro.target = target;
  CliReporter rreporter("restore");
  t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(RestoreResult rr, RestoreToDir(repo.get(), second.snapshot, ro, &rreporter));
  double s3 = Seconds(t0);
  rreporter.Done();
  if (rr.damaged || rr.failed) return Status::Corruption("restore reported problems");
  std::cout << "7. restored the latest snapshot to " << target << ": " << rr.files << " files, "
            << HumanBytes(rr.bytes) << " in " << s3 << " s (" << Rate(rr.bytes, s3) << ")\n";

  RETURN_IF_ERROR_CTX(CompareTrees(data, target + "/service"), "verify");
  std::cout << "8. verified: the restored tree is identical to the source, byte for byte, with "
               "modes, mtimes and symlinks\n\n";

  uint64_t raw = a.bytes_raw + b.bytes_raw, stored = DiskUsage(repo_dir);
  std::cout << "summary: backed up " << HumanBytes(raw) << " in two snapshots; the repository holds "
            << HumanBytes(stored) << " (" << static_cast<double>(raw) / static_cast<double>(stored)
            << "x smaller: dedup + compression)\n";
  if (keep) {
    std::cout << "kept " << dir << " (CAIRN_PASSWORD=" << password << ")\n";
  } else {
    std::error_code ec;
    fs::remove_all(dir, ec);
    std::cout << "removed " << dir << " (use --keep to look around)\n";
  }
  return Status::OK();
}
}  // namespace

void RegisterDemo(CLI::App& app, int* exit_code) {
  auto dir = std::make_shared<std::string>();
  auto keep = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("demo", "Run the whole job on a generated sample and verify it");
  cmd->add_option("--dir", *dir, "Folder to work in (default: a new temporary folder)");
  cmd->add_flag("--keep", *keep, "Keep the folder afterwards");
  cmd->callback([dir, keep, exit_code] {
    Status s = RunDemo(*dir, *keep);
    *exit_code = s.ok() ? kExitOk : Fail(s.WithContext("demo"));
  });
}

}  // namespace cairn::cli
