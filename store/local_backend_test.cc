// What only the local backend promises: the folder layout, refusing to create over data,
// no temp files left or listed, and a full disk reported as kNoSpace.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "store/backend.h"
#include "store/backend_test_util.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

using testing_util::FilesIn;
using testing_util::HexName;
using testing_util::ListAll;
using testing_util::Pattern;
using testing_util::TempDir;

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string repo() const { return dir_.path() + "/repo"; }

  std::unique_ptr<Backend> Create() {
    auto r = OpenLocalBackend(repo(), /*create=*/true);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  TempDir dir_;
};

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream(path) << content;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

TEST_F(LocalBackendTest, CreateMakesLayoutWithoutConfig) {
  ASSERT_NE(Create(), nullptr);
  for (const char* d : {"keys", "data", "index", "snapshots", "locks", "tmp", "data/00", "data/9c",
                        "data/ff"}) {
    EXPECT_TRUE(fs::is_directory(repo() + "/" + d)) << d;
  }
  EXPECT_EQ(FilesIn(repo() + "/data").size(), 256u);
  EXPECT_FALSE(Exists(repo() + "/config"));
}

TEST_F(LocalBackendTest, CreateInEmptyFolder) {
  ASSERT_EQ(::mkdir(repo().c_str(), 0700), 0);
  EXPECT_NE(Create(), nullptr);
}

TEST_F(LocalBackendTest, CreateOnNonEmptyFolderRefused) {
  ASSERT_EQ(::mkdir(repo().c_str(), 0700), 0);
  WriteFile(repo() + "/precious", "x");
  auto r = OpenLocalBackend(repo(), true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kAlreadyExists);
  EXPECT_NE(r.status().message().find("not empty"), std::string::npos);
  EXPECT_EQ(FilesIn(repo()), std::vector<std::string>{"precious"}) << "nothing was created";
}

TEST_F(LocalBackendTest, CreateTwiceRefused) {
  auto first = Create();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(OpenLocalBackend(repo(), true).status().code(), Code::kAlreadyExists);
}

TEST_F(LocalBackendTest, CreateWithMissingParentFails) {
  std::string path = dir_.path() + "/no/such/parent";
  auto r = OpenLocalBackend(path, true);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
  EXPECT_FALSE(Exists(dir_.path() + "/no"));
}

TEST_F(LocalBackendTest, OpenWithoutConfigIsRepoNotFound) {
  auto missing = OpenLocalBackend(repo(), false);
  EXPECT_EQ(missing.status().code(), Code::kRepoNotFound);
  EXPECT_NE(missing.status().message().find("no repository at " + repo()), std::string::npos);

  auto created = Create();
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(OpenLocalBackend(repo(), false).status().code(), Code::kRepoNotFound);

  ASSERT_TRUE(created->Put({ObjectType::kConfig, ""}, Pattern(12, 3)).ok());
  auto opened = OpenLocalBackend(repo() + "/", false);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto got = (*opened)->Get({ObjectType::kConfig, ""});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Pattern(12, 3));
}

TEST_F(LocalBackendTest, StrayFilesNotListed) {
  auto b = Create();
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Put({ObjectType::kData, "abcd"}, Pattern(4, 0)).ok());
  ASSERT_TRUE(b->Put({ObjectType::kIndex, "abcd"}, Pattern(4, 0)).ok());
  WriteFile(repo() + "/tmp/xyz.tmp", "partial");
  WriteFile(repo() + "/tmp/abcd", "partial");
  WriteFile(repo() + "/data/ab/abce.tmp", "partial");
  WriteFile(repo() + "/data/ab/.abcf", "hidden");
  WriteFile(repo() + "/data/ab/cdef", "wrong subfolder");
  WriteFile(repo() + "/data/ABCD", "not in a subfolder");
  WriteFile(repo() + "/index/ABCD", "upper case");
  ASSERT_EQ(::mkdir((repo() + "/index/abce").c_str(), 0700), 0);  // a folder, not an object
  EXPECT_EQ(ListAll(b.get(), ObjectType::kData), (std::map<std::string, uint64_t>{{"abcd", 4}}));
  EXPECT_EQ(ListAll(b.get(), ObjectType::kIndex), (std::map<std::string, uint64_t>{{"abcd", 4}}));
}

TEST_F(LocalBackendTest, PutLeavesNoTempFile) {
  auto b = Create();
  ASSERT_NE(b, nullptr);
  for (uint32_t i = 0; i < 10; i++) {
    ASSERT_TRUE(b->Put({ObjectType::kData, HexName(i)}, Pattern(100, 1)).ok());
  }
  EXPECT_TRUE(FilesIn(repo() + "/tmp").empty());
  struct stat st;
  ASSERT_EQ(::stat((repo() + "/" + ObjectName{ObjectType::kData, HexName(0)}.ToString()).c_str(),
                   &st),
            0);
  EXPECT_EQ(st.st_mode & 077, 0u) << "objects are private to the owner";
}

TEST_F(LocalBackendTest, PutRecreatesMissingFolders) {
  auto b = Create();
  ASSERT_NE(b, nullptr);
  // As after copying a repository with a tool that drops empty folders.
  ASSERT_EQ(::rmdir((repo() + "/data/3f").c_str()), 0);
  ASSERT_EQ(::rmdir((repo() + "/tmp").c_str()), 0);
  ASSERT_EQ(ListAll(b.get(), ObjectType::kData).size(), 0u);
  ASSERT_TRUE(b->Put({ObjectType::kData, "3fa2"}, Pattern(8, 0)).ok());
  auto got = b->Get({ObjectType::kData, "3fa2"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Pattern(8, 0));
}

TEST_F(LocalBackendTest, HostileNameCannotEscape) {
  auto b = Create();
  ASSERT_NE(b, nullptr);
  WriteFile(dir_.path() + "/outside", "secret");
  EXPECT_FALSE(b->Put({ObjectType::kKey, "../../escaped"}, Pattern(3, 0)).ok());
  EXPECT_FALSE(b->Put({ObjectType::kData, "../../../escaped"}, Pattern(3, 0)).ok());
  EXPECT_FALSE(b->Get({ObjectType::kKey, "../../outside"}).ok());
  EXPECT_FALSE(b->Delete({ObjectType::kKey, "../../outside"}).ok());
  EXPECT_FALSE(Exists(dir_.path() + "/escaped"));
  EXPECT_TRUE(Exists(dir_.path() + "/outside"));
}

// Runs `body` in a forked child and returns the string it produced. The child may change
// process-wide state (resource limits, mount namespace) without touching the test process.
std::string RunInChild(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe(fds) != 0) return std::string("fail: pipe: ") + std::strerror(errno);
  pid_t pid = ::fork();
  if (pid < 0) return std::string("fail: fork: ") + std::strerror(errno);
  if (pid == 0) {
    ::close(fds[0]);
    std::string out = body();
    ssize_t ignored = ::write(fds[1], out.data(), out.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return "fail: child died (status " + std::to_string(wstatus) + "): " + out;
  }
  return out;
}

void ExpectChildResult(const std::string& result) {
  if (result.rfind("skip: ", 0) == 0) GTEST_SKIP() << result.substr(6);
  EXPECT_EQ(result, "ok");
}

bool WriteProcFile(const char* path, const std::string& content) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  ::close(fd);
  return ok;
}

// Enters a private mount namespace: as root directly, otherwise through a user namespace
// (unprivileged ones permitting). Mounts made afterwards vanish when the child exits, even if
// it crashes, and never propagate to the host.
std::string EnterPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    if (errno != EPERM) return std::string("skip: unshare: ") + std::strerror(errno);
    uid_t uid = ::getuid();
    gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      return std::string("skip: not root and no user namespaces: ") + std::strerror(errno);
    }
    if (!WriteProcFile("/proc/self/setgroups", "deny") ||
        !WriteProcFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !WriteProcFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
      return std::string("skip: cannot map ids in user namespace: ") + std::strerror(errno);
    }
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("skip: cannot make mounts private: ") + std::strerror(errno);
  }
  return "";
}

// A full disk must surface as kNoSpace, which operators act on, and must leave no temp file.
TEST_F(LocalBackendTest, FullDiskIsNoSpace) {
  std::string mnt = dir_.path() + "/mnt";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0700), 0);
  std::string result = RunInChild([&]() -> std::string {
    std::string err = EnterPrivateMountNamespace();
    if (!err.empty()) return err;
    if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
      return std::string("skip: cannot mount tmpfs: ") + std::strerror(errno);
    }
    std::string out = [&]() -> std::string {
      auto r = OpenLocalBackend(mnt + "/repo", true);
      if (!r.ok()) return "fail: create: " + r.status().ToString();
      Backend* b = r->get();
      if (!b->Put({ObjectType::kData, "aa"}, Pattern(1000, 0)).ok()) return "fail: small put";
      Status st = b->Put({ObjectType::kData, HexName(1)}, Pattern(2 << 20, 1));
      if (st.code() != Code::kNoSpace) {
        return std::string("fail: got ") + CodeName(st.code()) + ": " + st.ToString();
      }
      if (!FilesIn(mnt + "/repo/tmp").empty()) return "fail: temp file left behind";
      if (b->Stat({ObjectType::kData, HexName(1)}).status().code() != Code::kNotFound) {
        return "fail: partial object visible";
      }
      return "ok";
    }();
    ::umount2(mnt.c_str(), MNT_DETACH);
    return out;
  });
  ExpectChildResult(result);
}

// Runs anywhere: a write error (EFBIG from RLIMIT_FSIZE) fails the Put and cleans up.
TEST_F(LocalBackendTest, FailedWriteLeavesNoTempFile) {
  auto b = Create();
  ASSERT_NE(b, nullptr);
  std::string result = RunInChild([&]() -> std::string {
    ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us instead of failing the write
    struct rlimit lim = {1 << 20, 1 << 20};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) return "skip: setrlimit failed";
    Status st = b->Put({ObjectType::kData, HexName(2)}, Pattern(2 << 20, 2));
    if (st.ok()) return "fail: put over the file size limit succeeded";
    if (st.code() != Code::kIOError) return "fail: unexpected " + st.ToString();
    if (st.message().find("put " + repo()) == std::string::npos) {
      return "fail: message lacks the path: " + st.ToString();
    }
    if (!FilesIn(repo() + "/tmp").empty()) return "fail: temp file left behind";
    return "ok";
  });
  ExpectChildResult(result);
  EXPECT_EQ(b->Stat({ObjectType::kData, HexName(2)}).status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace cairn
