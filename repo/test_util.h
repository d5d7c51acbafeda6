// Helpers shared by the repo tests: temp folders, generated trees, tree comparison.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "repo/reporter.h"
#include "repo/repository.h"

namespace cairn::testing {

namespace fs = std::filesystem;

// Keeps every problem reported, as "path: status", from any thread.
class CollectingReporter : public Reporter {
 public:
  void Problem(const std::string& path, const Status& status) override {
    std::lock_guard<std::mutex> l(mu);
    problems.push_back(path + ": " + status.ToString());
  }
  std::mutex mu;
  std::vector<std::string> problems;
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cairn-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& sub) const { return path_ + "/" + sub; }

 private:
  std::string path_;
};

inline Bytes RandomData(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    b[i] = static_cast<uint8_t>(s >> 24);
  }
  return b;
}

inline void WriteFile(const std::string& path, ByteView data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

inline Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The pack files of a local repository, sorted by path.
inline std::vector<fs::path> PackFiles(const std::string& repo_dir) {
  std::vector<fs::path> out;
  for (auto& sub : fs::directory_iterator(repo_dir + "/data"))
    for (auto& f : fs::directory_iterator(sub)) out.push_back(f.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The largest pack: in the tests, one holding data blobs of the biggest file.
inline fs::path LargestPack(const std::string& repo_dir) {
  std::vector<fs::path> packs = PackFiles(repo_dir);
  return *std::max_element(packs.begin(), packs.end(),
                           [](const fs::path& a, const fs::path& b) { return fs::file_size(a) < fs::file_size(b); });
}

// Damages a file in place: bit 0 of its middle byte flipped.
inline void FlipMiddleByte(const fs::path& file) {
  Bytes b = ReadFile(file.string());
  b[b.size() / 2] ^= 0x01;
  WriteFile(file.string(), b);
}

// Fast test parameters: small chunks and packs so small inputs exercise many of both,
// and cheap scrypt.
inline InitOptions TestInitOptions(bool encrypt = true) {
  InitOptions o;
  o.encrypt = encrypt;
  o.chunker = ChunkerParams{2048, 8192, 32768};
  o.pack_size = 1 << 20;
  o.scrypt.n = 1 << 10;
  return o;
}

// A fresh repository (TestInitOptions) in <dir>/repo with its index cache in <dir>/cache.
// Returns null on failure; tests ASSERT_NE(repo, nullptr).
inline std::unique_ptr<Repository> MakeTestRepo(const std::string& dir, bool encrypt = true) {
  {
    auto backend = OpenLocalBackend(dir + "/repo", true);
    if (!backend.ok() || !Repository::Init(backend->get(), "pw", TestInitOptions(encrypt)).ok())
      return nullptr;
  }
  auto backend = OpenLocalBackend(dir + "/repo", false);
  if (!backend.ok()) return nullptr;
  auto repo = Repository::Open(std::move(backend).value(), "pw", OpenOptions{dir + "/cache"});
  return repo.ok() ? std::move(repo).value() : nullptr;
}

// Describes a tree as sorted lines "path type mode size mtime content-or-target".
inline std::vector<std::string> Describe(const std::string& root) {
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), root).string();
    struct stat st;
    lstat(it->path().c_str(), &st);
    std::string line = rel + " mode=" + std::to_string(st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) {
      line += " link=" + fs::read_symlink(it->path()).string();
    } else if (S_ISDIR(st.st_mode)) {
      line += " dir mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    } else {
      Bytes b = ReadFile(it->path().string());
      line += " size=" + std::to_string(st.st_size) + " mtime=" + std::to_string(st.st_mtim.tv_sec) +
              "." + std::to_string(st.st_mtim.tv_nsec) +
              " hash=" + std::to_string(std::hash<std::string>()(std::string(b.begin(), b.end())));
    }
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cairn::testing
