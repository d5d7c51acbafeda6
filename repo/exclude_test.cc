#include "repo/exclude.h"

#include <gtest/gtest.h>

#include "repo/test_util.h"

namespace cairn {
namespace {

using testing::TempDir;
using testing::WriteFile;

struct GlobCase {
  const char* pattern;
  const char* text;
  bool match;
};

TEST(GlobTest, Table) {
  const GlobCase cases[] = {
      {"*.log", "a.log", true},
      {"*.log", "a.log.1", false},
      {"*.log", "dir/a.log", false},  // '*' does not cross '/'
      {"a?c", "abc", true},
      {"a?c", "a/c", false},
      {"a?c", "ac", false},
      {"[abc].txt", "b.txt", true},
      {"[abc].txt", "d.txt", false},
      {"[!abc].txt", "d.txt", true},
      {"[^abc].txt", "a.txt", false},
      {"[a-f]x", "cx", true},
      {"[a-f]x", "gx", false},
      {"[]]x", "]x", true},
      {"a[/]b", "a/b", false},
      {"\\*x", "*x", true},
      {"\\*x", "ax", false},
      {"**/cache", "cache", true},
      {"**/cache", "a/b/cache", true},
      {"**/cache", "a/b/cachex", false},
      {"a/**/b", "a/b", true},
      {"a/**/b", "a/x/y/b", true},
      {"a/**/b", "a/x/y/c", false},
      {"a/**", "a/x", true},
      {"a/**", "a/x/y", true},
      {"a/**", "a", false},
      {"a**b", "axyb", true},  // not a whole component: an ordinary '*'
      {"a**b", "ax/yb", false},
      {"*", "", true},
      {"*", "x/y", false},
      {"data/*/tmp", "data/x/tmp", true},
      {"data/*/tmp", "data/x/y/tmp", false},
  };
  for (const GlobCase& c : cases)
    EXPECT_EQ(GlobMatch(c.pattern, c.text), c.match) << c.pattern << " vs " << c.text;
}

TEST(GlobTest, RejectsMalformedPatterns) {
  EXPECT_FALSE(ValidateGlob("").ok());
  EXPECT_FALSE(ValidateGlob("a[bc").ok());
  EXPECT_FALSE(ValidateGlob("ab\\").ok());
  EXPECT_TRUE(ValidateGlob("a[b]c\\*").ok());
  ExcludePatterns p;
  EXPECT_EQ(p.Add("").code(), Code::kInvalidArgument);
  EXPECT_EQ(p.Add("/").code(), Code::kInvalidArgument);
  EXPECT_EQ(p.Add("!").code(), Code::kInvalidArgument);
  EXPECT_EQ(p.Add("x[").code(), Code::kInvalidArgument);
  EXPECT_TRUE(p.empty());
}

struct ExcludeCase {
  const char* path;
  bool is_dir;
  bool excluded;
};

TEST(ExcludePatternsTest, GitignoreSemantics) {
  ExcludePatterns p;
  for (const char* pat : {"*.tmp", "/build", "logs/", "cache/*.bin", "!keep.tmp", "**/deep/x",
                          "node_modules"})
    ASSERT_TRUE(p.Add(pat).ok()) << pat;
  const ExcludeCase cases[] = {
      {"a.tmp", false, true},            // a name at any depth
      {"src/x/a.tmp", false, true},
      {"keep.tmp", false, false},        // re-included by a later '!'
      {"src/keep.tmp", false, false},
      {"build", true, true},             // anchored to the backed-up path
      {"build", false, true},
      {"src/build", true, false},
      {"logs", true, true},              // trailing '/': directories only
      {"a/b/logs", true, true},
      {"logs", false, false},
      {"cache/a.bin", false, true},      // a '/' in the middle anchors too
      {"x/cache/a.bin", false, false},
      {"cache/sub/a.bin", false, false},
      {"deep/x", false, true},
      {"a/b/deep/x", false, true},
      {"node_modules", true, true},
      {"web/node_modules", true, true},
      {"src/main.cc", false, false},
  };
  for (const ExcludeCase& c : cases)
    EXPECT_EQ(p.Excluded(c.path, c.is_dir), c.excluded) << c.path << (c.is_dir ? "/" : "");
  EXPECT_EQ(p.patterns().size(), 7u);
}

TEST(ExcludePatternsTest, LastMatchingPatternWins) {
  ExcludePatterns p;
  ASSERT_TRUE(p.Add("*.log").ok());
  ASSERT_TRUE(p.Add("!important.log").ok());
  ASSERT_TRUE(p.Add("/important.log").ok());
  EXPECT_TRUE(p.Excluded("important.log", false));
  EXPECT_FALSE(p.Excluded("sub/important.log", false));
  EXPECT_TRUE(p.Excluded("sub/other.log", false));
}

TEST(ExcludePatternsTest, ReadsAFile) {
  TempDir tmp;
  WriteFile(tmp / "ex", AsBytes("# comment\n\n*.tmp   \r\n  \nname\\ \n!keep.tmp\n"));
  ExcludePatterns p;
  ASSERT_TRUE(p.AddFile(tmp / "ex").ok());
  EXPECT_EQ(p.patterns(), (std::vector<std::string>{"*.tmp", "name\\ ", "!keep.tmp"}));
  EXPECT_TRUE(p.Excluded("a.tmp", false));
  EXPECT_FALSE(p.Excluded("keep.tmp", false));
  EXPECT_TRUE(p.Excluded("name ", false));  // an escaped trailing space is kept

  WriteFile(tmp / "bad", AsBytes("ok\nx[\n"));
  Status s = ExcludePatterns().AddFile(tmp / "bad");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("bad:2"), std::string::npos) << s.message();
  EXPECT_FALSE(ExcludePatterns().AddFile(tmp / "missing").ok());
}

TEST(ReadPathListTest, LinesAndNulSeparated) {
  TempDir tmp;
  WriteFile(tmp / "list", AsBytes("/srv/app\n# not this\n\nrel/dir\r\n/with space\n"));
  auto lines = ReadPathList(tmp / "list", false);
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(*lines, (std::vector<std::string>{"/srv/app", "rel/dir", "/with space"}));
  std::string nul("/a\n b\0#c\0\0", 10);
  WriteFile(tmp / "list0", AsBytes(nul));
  auto items = ReadPathList(tmp / "list0", true);
  ASSERT_TRUE(items.ok());
  EXPECT_EQ(*items, (std::vector<std::string>{"/a\n b", "#c"}));
  WriteFile(tmp / "empty", AsBytes("# nothing\n"));
  EXPECT_EQ(ReadPathList(tmp / "empty", false).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace cairn
