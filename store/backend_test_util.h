// Helpers shared by the backend tests: a self-removing temp folder, deterministic contents
// and names, and a List that collects into a map.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "gtest/gtest.h"
#include "store/backend.h"

namespace cairn {
namespace testing_util {

namespace fs = std::filesystem;

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/cairn-backend-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Bytes Pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(i * 131 + seed);
  return b;
}

// A valid name of `len` hex characters derived from `i`.
inline std::string HexName(uint32_t i, size_t len = 64) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  uint32_t x = i * 2654435761u + 12345;
  for (size_t k = 0; k < len; k++) {
    s += kHex[(x >> ((k % 8) * 4)) & 0xf];
    if (k % 8 == 7) x = x * 1103515245u + i + 1;
  }
  return s;
}

inline std::map<std::string, uint64_t> ListAll(Backend* b, ObjectType type) {
  std::map<std::string, uint64_t> out;
  Status st = b->List(type, [&](const std::string& name, uint64_t size) {
    EXPECT_EQ(out.count(name), 0u) << "listed twice: " << name;
    out[name] = size;
    return Status::OK();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

inline std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

}  // namespace testing_util
}  // namespace cairn
