#include "cli/context.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

#include "repo/key_cache.h"
#include "repo/walker.h"

namespace cairn::cli {

namespace {
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

void StripNewline(std::string* s) {
  while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
}

Result<std::string> Prompt(const char* label) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return Status::InvalidArgument(
        "no password: set CAIRN_PASSWORD, CAIRN_PASSWORD_FILE or CAIRN_PASSWORD_COMMAND, or run "
        "on a terminal");
  (void)!write(fd, label, strlen(label));
  struct termios old, noecho;
  bool restore = tcgetattr(fd, &old) == 0;
  if (restore) {
    noecho = old;
    noecho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSANOW, &noecho);
  }
  std::string pw;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') pw.push_back(c);
  if (restore) tcsetattr(fd, TCSANOW, &old);
  (void)!write(fd, "\n", 1);
  close(fd);
  return pw;
}
}  // namespace

GlobalOptions& Globals() {
  static GlobalOptions g;
  return g;
}

Result<std::string> ReadPassword(bool confirm) {
  if (const char* pw = std::getenv("CAIRN_PASSWORD")) return std::string(pw);
  std::string file = Env("CAIRN_PASSWORD_FILE");
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Status::NotFound("cannot read CAIRN_PASSWORD_FILE " + file);
    std::string pw;
    std::getline(in, pw);
    StripNewline(&pw);
    return pw;
  }
  std::string cmd = Env("CAIRN_PASSWORD_COMMAND");
  if (!cmd.empty()) {
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return Status::IOError("cannot run CAIRN_PASSWORD_COMMAND");
    std::string pw;
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), p)) > 0) pw.append(buf, n);
    if (pclose(p) != 0) return Status::IOError("CAIRN_PASSWORD_COMMAND failed");
    StripNewline(&pw);
    return pw;
  }
  ASSIGN_OR_RETURN(std::string pw, Prompt("repository password: "));
  if (confirm) {
    ASSIGN_OR_RETURN(std::string again, Prompt("repeat password: "));
    if (again != pw) return Status::InvalidArgument("the passwords do not match");
  }
  if (pw.empty()) return Status::InvalidArgument("empty password");
  return pw;
}

std::string CacheDir() {
  if (!Globals().cache_dir.empty()) return Globals().cache_dir;
  std::string v = Env("CAIRN_CACHE_DIR");
  if (!v.empty()) return v;
  v = Env("XDG_CACHE_HOME");
  if (!v.empty()) return v + "/cairn";
  v = Env("HOME");
  if (!v.empty()) return v + "/.cache/cairn";
  return "/tmp/cairn-cache-" + std::to_string(getuid());
}

Result<std::string> RepoLocation() {
  std::string r = Globals().repo.empty() ? Env("CAIRN_REPO") : Globals().repo;
  if (r.empty()) return Status::InvalidArgument("no repository: use --repo or set CAIRN_REPO");
  return r;
}

Result<std::unique_ptr<Backend>> OpenBackend(bool create) {
  ASSIGN_OR_RETURN(std::string loc, RepoLocation());
  return OpenLocalBackend(loc, create);
}

Result<std::unique_ptr<Repository>> OpenRepository() {
  ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, OpenBackend(false));
  Result<Bytes> config = backend->Get({ObjectType::kConfig, ""});
  if (!config.ok()) return Status::RepoNotFound("no repository at " + backend->Location());
  ASSIGN_OR_RETURN(RepoConfig parsed, RepoConfig::Decode(*config));
  OpenOptions options;
  options.cache_dir = CacheDir();
  if (parsed.encrypted && !Globals().no_key_cache) {
    // `cairn key unlock` left the key in the keyring. The config's MAC proves it is this
    // repository's; one that is not (a stale entry) is passed over for the password.
    std::optional<MasterKey> key = CachedMasterKey(parsed.id);
    if (key && RepoConfig::Verify(*config, RepoConfig::MacKey(key->encryption_key)).ok()) {
      ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo,
                       Repository::OpenWithKey(std::move(backend), *key, options));
      PrintNewWarnings(repo.get());
      return repo;
    }
  }
  std::string password;
  if (parsed.encrypted) {
    ASSIGN_OR_RETURN(password, ReadPassword(false));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Repository> repo,
                   Repository::Open(std::move(backend), password, options));
  PrintNewWarnings(repo.get());
  return repo;
}

void PrintNewWarnings(Repository* repo) {
  static size_t printed = 0;
  const auto& w = repo->warnings();
  for (; printed < w.size(); ++printed) {
    if (Globals().json)
      std::cerr << nlohmann::json{{"warning", w[printed]}}.dump() << "\n";
    else
      std::cerr << "cairn: warning: " << w[printed] << "\n";
  }
}

Result<SnapshotRef> FindSnapshot(Repository* repo, const std::string& ref) {
  Result<SnapshotRef> r = repo->FindSnapshot(ref);
  PrintNewWarnings(repo);
  return r;
}

Result<SnapshotSelection> SelectSnapshot(Repository* repo, const std::string& arg) {
  size_t colon = arg.find(':');
  SnapshotSelection sel;
  ASSIGN_OR_RETURN(sel.ref, FindSnapshot(repo, arg.substr(0, colon)));
  if (colon == std::string::npos) return sel;
  sel.subpath = arg.substr(colon + 1);
  Result<Id> tree = SubtreeAt(repo, sel.ref.snapshot.tree, sel.subpath);
  if (!tree.ok()) return tree.status().WithContext("snapshot " + sel.ref.id.Hex().substr(0, 8));
  sel.ref.snapshot.tree = *tree;
  return sel;
}

int Fail(const Status& status) {
  if (Globals().json) {
    nlohmann::json j = {{"error", status.message()}, {"code", CodeName(status.code())}};
    std::cerr << j.dump() << "\n";
  } else {
    std::cerr << "cairn: " << status.message() << "\n";
  }
  return ExitCodeFor(status);
}

CliReporter::CliReporter(const char* verb)
    : verb_(verb),
      tty_(isatty(2) && !Globals().json && !Globals().quiet),
      start_ns_(NowNs()),
      last_ns_(start_ns_) {}  // nothing for runs shorter than one interval

CliReporter::~CliReporter() { Done(); }

void CliReporter::Done() {
  std::lock_guard<std::mutex> l(mu_);
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

void CliReporter::Problem(const std::string& path, const Status& status) {
  std::lock_guard<std::mutex> l(mu_);
  ++problems_;
  if (drawn_) std::cerr << "\r\033[K";
  drawn_ = false;
  if (Globals().json)
    std::cerr << nlohmann::json{{"problem", path}, {"error", status.message()}}.dump() << "\n";
  else
    std::cerr << "cairn: " << path << ": " << status.message() << "\n";
}

void CliReporter::Notice(const std::string& path, const std::string& what) {
  std::lock_guard<std::mutex> l(mu_);
  if (drawn_) std::cerr << "\r\033[K";
  drawn_ = false;
  if (Globals().json)
    std::cerr << nlohmann::json{{"notice", path}, {"message", what}}.dump() << "\n";
  else if (!Globals().quiet)
    std::cerr << "cairn: note: " << path << ": " << what << "\n";
}

void CliReporter::Total(uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  total_ = bytes;
}

// On a terminal: one redrawn status line, 5 times a second. With --json: a JSON line on stderr
// once a second. Otherwise nothing.
void CliReporter::Progress(uint64_t bytes_done, const std::string& current) {
  bool json = Globals().json;
  if (!tty_ && !json) return;
  int64_t now = NowNs();
  std::lock_guard<std::mutex> l(mu_);
  if (now - last_ns_ < (json ? 1'000'000'000 : 200'000'000)) return;
  last_ns_ = now;
  double secs = static_cast<double>(now - start_ns_) / 1e9;
  double rate = secs > 0 ? static_cast<double>(bytes_done) / secs : 0;
  double eta = total_ > bytes_done && rate > 0 ? static_cast<double>(total_ - bytes_done) / rate : -1;
  if (json) {
    nlohmann::json j = {{"progress", verb_}, {"bytes_done", bytes_done}, {"bytes_per_s", rate},
                        {"current", current}, {"elapsed_s", secs}};
    if (total_) j["bytes_total"] = total_;
    if (eta >= 0) j["eta_s"] = eta;
    std::cerr << j.dump() << "\n";
    return;
  }
  std::string name = current.size() > 40 ? "…" + current.substr(current.size() - 39) : current;
  std::cerr << "\r\033[K" << verb_ << " " << HumanBytes(bytes_done);
  if (total_) std::cerr << " / " << HumanBytes(total_);
  std::cerr << "  " << HumanBytes(static_cast<uint64_t>(rate)) << "/s";
  if (eta >= 0) {
    char buf[32];
    snprintf(buf, sizeof(buf), "  ETA %d:%02d", static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    std::cerr << buf;
  }
  std::cerr << "  " << name << std::flush;
  drawn_ = true;
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

std::string FormatTime(int64_t time_ns) {
  time_t t = static_cast<time_t>(time_ns / 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

}  // namespace cairn::cli
