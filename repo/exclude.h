// Choosing what is backed up below each path: gitignore-like exclude patterns, marker files
// that exclude their directory, staying on one file system, and path lists read from a file.
// The syntax is documented once, in docs/OPERATIONS.md "Choosing what is backed up".
//
// Patterns are matched against an entry's path relative to the backed-up path it is under
// ("logs/today.log" for /srv/app/logs/today.log when /srv/app is backed up). The backed-up
// paths themselves are never excluded: what is named explicitly is backed up.
//
// Thread safety: a Selection is immutable once built and may be used from several threads.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cairn {

// Glob matching with '/' as separator: '*' and '?' never match '/', "[...]" is a character
// class ("[!...]" or "[^...]" negated, ranges like a-z), '\' escapes the next character, and
// "**" as a whole path component matches any number of components ("**/x", "a/**/b", "a/**").
// REQUIRES: pattern accepted by ValidateGlob.
bool GlobMatch(std::string_view pattern, std::string_view text);
Status ValidateGlob(std::string_view pattern);

class ExcludePatterns {
 public:
  // Adds one pattern (gitignore syntax: leading '!' re-includes, trailing '/' matches only
  // directories, a '/' at the start or in the middle anchors it to the backed-up path, else it
  // matches a name at any depth). kInvalidArgument for an empty or malformed pattern.
  Status Add(std::string_view pattern);
  // Adds the patterns of a file: one per line; blank lines and lines starting with '#' are
  // skipped; trailing spaces are trimmed ("\ " keeps one).
  Status AddFile(const std::string& path);

  // True if the entry at `rel` ("a/b/c", relative to its backed-up path) is excluded. The last
  // matching pattern decides, as in gitignore.
  bool Excluded(std::string_view rel, bool is_dir) const;
  bool empty() const { return rules_.empty(); }
  // The patterns as given, for the snapshot summary.
  const std::vector<std::string>& patterns() const { return given_; }

 private:
  struct Rule {
    std::string glob;
    bool negate = false, dir_only = false, anchored = false;
  };
  std::vector<Rule> rules_;
  std::vector<std::string> given_;
};

// Everything that decides whether an entry below a backed-up path is read.
struct Selection {
  ExcludePatterns patterns;
  // A directory holding an entry with one of these names (".nobackup", "CACHEDIR.TAG") is not
  // backed up at all.
  std::vector<std::string> exclude_if_present;
  // Do not descend into directories on another file system than their backed-up path: such a
  // directory (a mount point) is stored empty, with its own metadata.
  bool one_file_system = false;

  bool empty() const { return patterns.empty() && exclude_if_present.empty() && !one_file_system; }

  enum class Verdict { kInclude, kExclude, kEmptyDir };
  // For the entry at `rel` (non-empty) below a backed-up path on device `root_dev`: whether it
  // is backed up, left out, or (a directory on another file system) stored without contents.
  Verdict Check(std::string_view rel, const struct stat& st, dev_t root_dev) const;
  // True if the directory open at dirfd holds one of the exclude_if_present names.
  bool HasExcludeMarker(int dirfd) const;
};

// The total size of the regular files a backup of `paths` with this selection reads (no
// symlinks followed; unreadable entries count nothing). For the progress display's ETA; stops
// early, returning what it has, when *stop becomes true.
uint64_t SelectedFileBytes(const std::vector<std::string>& paths, const Selection& selection,
                           const std::atomic<bool>* stop);

// Reads a list of paths: one per line (blank lines and lines starting with '#' skipped, a
// trailing '\r' dropped), or, with `nul_separated`, separated by NUL bytes and taken verbatim.
Result<std::vector<std::string>> ReadPathList(const std::string& file, bool nul_separated);

}  // namespace cairn
