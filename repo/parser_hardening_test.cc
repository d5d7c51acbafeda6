// Regression tests for inputs the fuzz targets (fuzz/, docs/DESIGN.md "Fuzzing") found or
// pinned: hostile repository data must be refused as corruption, never read as something else,
// never crash, never be undefined behaviour.
#include <gtest/gtest.h>

#include <string>

#include "repo/config.h"
#include "repo/keys.h"

namespace cairn {
namespace {

Key32 MacKeyForTest() { return RepoConfig::MacKey(Key32{9}); }

std::string ValidConfigText() {
  RepoConfig c;
  c.version = 1;
  c.id = std::string(64, 'a');
  c.encrypted = true;
  c.chunker = ChunkerParams{2048, 8192, 32768};
  c.pack_size = 1 << 20;
  c.compression_level = 3;
  Bytes b = c.Encode(MacKeyForTest());
  return std::string(b.begin(), b.end());
}

// Replaces the one occurrence of `from` in the config text.
std::string ConfigWith(const std::string& from, const std::string& to) {
  std::string s = ValidConfigText();
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(s.find(from, at + 1), std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(ParserHardening, ConfigAsWrittenDecodes) {
  Result<RepoConfig> c = RepoConfig::Decode(AsBytes(ValidConfigText()));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->version, 1u);
  EXPECT_EQ(c->chunker.min_size, 2048u);
  EXPECT_EQ(c->compression_level, 3);
  Result<RepoConfig> negative_level =
      RepoConfig::Decode(AsBytes(ConfigWith("\"level\": 3", "\"level\": -5")));
  ASSERT_TRUE(negative_level.ok()) << negative_level.status().ToString();
  EXPECT_EQ(negative_level->compression_level, -5);
}

// Found by config_fuzz: json's get<uint32_t>() of 1e300 is a float-to-integer conversion out of
// range (undefined behaviour; UBSan aborts). Out-of-range integers were wrapped into range:
// -4294967295 read as version 1, 2^32 + 2048 as a min_size of 2048.
TEST(ParserHardening, ConfigNumbersMustBeIntegersInRange) {
  const std::pair<std::string, std::string> cases[] = {
      {"\"version\": 1", "\"version\": 1e300"},
      {"\"version\": 1", "\"version\": 1.0"},
      {"\"version\": 1", "\"version\": -4294967295"},
      {"\"version\": 1", "\"version\": 4294967297"},
      {"\"min_size\": 2048", "\"min_size\": 4294969344"},
      {"\"min_size\": 2048", "\"min_size\": -1e300"},
      {"\"avg_size\": 8192", "\"avg_size\": 8192.5"},
      {"\"pack_size\": 1048576", "\"pack_size\": 1e19"},
      {"\"pack_size\": 1048576", "\"pack_size\": -1"},
      {"\"level\": 3", "\"level\": 3.5"},
      {"\"level\": 3", "\"level\": 4294967299"},
      {"\"level\": 3", "\"level\": -4294967293"},
      {"\"level\": 3", "\"level\": \"3\""},
  };
  for (const auto& [from, to] : cases) {
    SCOPED_TRACE(to);
    Result<RepoConfig> c = RepoConfig::Decode(AsBytes(ConfigWith(from, to)));
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Code::kCorruption);
  }
}

// scrypt parameters were narrowed to 32 bits before the range check: r = 2^32 + 8 was read as 8
// and the key file opened, though it says something no cairn writes.
TEST(ParserHardening, KeyFileScryptParametersAreCheckedBeforeNarrowing) {
  MasterKey key = MasterKey::Generate();
  ScryptParams params;
  params.n = 1 << 4;
  Result<Bytes> file = SealKeyFile(key, true, "pw", params);
  ASSERT_TRUE(file.ok());
  std::string text(file->begin(), file->end());
  ASSERT_TRUE(OpenKeyFile(AsBytes(text), "pw").ok());
  const std::pair<std::string, std::string> cases[] = {{"\"r\": 8", "\"r\": 4294967304"},
                                                      {"\"p\": 1", "\"p\": 4294967297"}};
  for (const auto& [from, to] : cases) {
    SCOPED_TRACE(to);
    std::string bad = text;
    size_t at = bad.find(from);
    ASSERT_NE(at, std::string::npos);
    bad.replace(at, from.size(), to);
    Result<MasterKey> opened = OpenKeyFile(AsBytes(bad), "pw");
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kCorruption);
  }
}

}  // namespace
}  // namespace cairn
