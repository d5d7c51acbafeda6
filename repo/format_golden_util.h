// Helpers shared by the golden-file tests of the repository format
// (repo/format_golden_test.cc, repo/format_golden_repo_test.cc).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "common/bytes.h"

namespace cairn::golden {

namespace fs = std::filesystem;

// tests/data/format-v1, from CAIRN_TEST_DATA (set by ctest) or found from this file's path
// when the test program is run by hand.
inline std::string GoldenDir() {
  if (const char* d = std::getenv("CAIRN_TEST_DATA")) return std::string(d) + "/format-v1";
  return (fs::path(__FILE__).parent_path().parent_path() / "tests/data/format-v1").string();
}

inline Bytes ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline Bytes Golden(const std::string& name) { return ReadAll(GoldenDir() + "/" + name); }

inline Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A temporary folder, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "cairn-golden-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cairn::golden
