#include "repo/exclude.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace cairn {

namespace {

// The length of the "[...]" class at the start of p, or 0 if it is not closed.
size_t ClassLength(std::string_view p) {
  size_t i = 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  if (i < p.size() && p[i] == ']') ++i;  // a ']' first is a member, not the end
  while (i < p.size() && p[i] != ']') {
    if (p[i] == '\\') ++i;
    ++i;
  }
  return i < p.size() ? i + 1 : 0;
}

// `cls` is the inside of the brackets.
bool ClassMatch(std::string_view cls, char c) {
  bool negate = !cls.empty() && (cls[0] == '!' || cls[0] == '^');
  size_t i = negate ? 1 : 0;
  bool found = false;
  auto take = [&]() -> unsigned char {
    if (cls[i] == '\\' && i + 1 < cls.size()) ++i;
    return static_cast<unsigned char>(cls[i++]);
  };
  auto uc = static_cast<unsigned char>(c);
  while (i < cls.size()) {
    unsigned char lo = take();
    if (i + 1 < cls.size() && cls[i] == '-') {
      ++i;
      unsigned char hi = take();
      if (lo <= uc && uc <= hi) found = true;
    } else if (lo == uc) {
      found = true;
    }
  }
  return found != negate;
}

// `component_start`: p is at the start of a path component of the pattern.
bool Match(std::string_view p, std::string_view t, bool component_start) {
  while (!p.empty()) {
    char c = p[0];
    if (c == '*') {
      if (component_start && p.size() >= 2 && p[1] == '*' && (p.size() == 2 || p[2] == '/')) {
        if (p.size() == 2) return true;  // "a/**": everything below
        std::string_view rest = p.substr(3);
        if (Match(rest, t, true)) return true;  // zero components
        for (size_t i = 0; i < t.size(); ++i)
          if (t[i] == '/' && Match(rest, t.substr(i + 1), true)) return true;
        return false;
      }
      size_t n = p.find_first_not_of('*');
      std::string_view rest = n == std::string_view::npos ? std::string_view() : p.substr(n);
      for (size_t i = 0;; ++i) {
        if (Match(rest, t.substr(i), false)) return true;
        if (i == t.size() || t[i] == '/') return false;
      }
    }
    if (t.empty()) return false;
    if (c == '?') {
      if (t[0] == '/') return false;
      p.remove_prefix(1);
    } else if (c == '[') {
      size_t len = ClassLength(p);
      if (t[0] == '/' || !ClassMatch(p.substr(1, len - 2), t[0])) return false;
      p.remove_prefix(len);
    } else {
      if (c == '\\') p.remove_prefix(1);
      if (p.empty() || p[0] != t[0]) return false;
      p.remove_prefix(1);
    }
    component_start = t[0] == '/';
    t.remove_prefix(1);
  }
  return t.empty();
}

std::string_view BaseName(std::string_view rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string_view::npos ? rel : rel.substr(slash + 1);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, path);
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return Status::IOError("read " + path);
  return s.str();
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view text) { return Match(pattern, text, true); }

Status ValidateGlob(std::string_view pattern) {
  if (pattern.empty()) return Status::InvalidArgument("empty pattern");
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {
      if (++i == pattern.size()) return Status::InvalidArgument("pattern ends with '\\': " + std::string(pattern));
    } else if (pattern[i] == '[') {
      size_t len = ClassLength(pattern.substr(i));
      if (!len) return Status::InvalidArgument("unclosed '[' in pattern: " + std::string(pattern));
      i += len - 1;
    }
  }
  return Status::OK();
}

Status ExcludePatterns::Add(std::string_view pattern) {
  std::string given(pattern);
  Rule r;
  if (!pattern.empty() && pattern[0] == '!') {
    r.negate = true;
    pattern.remove_prefix(1);
  }
  while (!pattern.empty() && pattern.back() == '/') {
    r.dir_only = true;
    pattern.remove_suffix(1);
  }
  r.anchored = pattern.find('/') != std::string_view::npos;
  while (!pattern.empty() && pattern[0] == '/') pattern.remove_prefix(1);
  if (pattern.empty()) return Status::InvalidArgument("exclude pattern '" + given + "' matches no name");
  RETURN_IF_ERROR(ValidateGlob(pattern).WithContext("exclude pattern"));
  r.glob = std::string(pattern);
  rules_.push_back(std::move(r));
  given_.push_back(std::move(given));
  return Status::OK();
}

Status ExcludePatterns::AddFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    while (!line.empty() && line.back() == ' ' && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
      line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    RETURN_IF_ERROR(Add(line).WithContext(path + ":" + std::to_string(n)));
  }
  return Status::OK();
}

bool ExcludePatterns::Excluded(std::string_view rel, bool is_dir) const {
  bool excluded = false;
  for (const Rule& r : rules_) {
    if (r.dir_only && !is_dir) continue;
    if (excluded != r.negate) continue;  // cannot change the outcome
    if (GlobMatch(r.glob, r.anchored ? rel : BaseName(rel))) excluded = !r.negate;
  }
  return excluded;
}

Selection::Verdict Selection::Check(std::string_view rel, const struct stat& st, dev_t root_dev) const {
  bool dir = S_ISDIR(st.st_mode);
  if (patterns.Excluded(rel, dir)) return Verdict::kExclude;
  if (one_file_system && st.st_dev != root_dev) return dir ? Verdict::kEmptyDir : Verdict::kExclude;
  return Verdict::kInclude;
}

bool Selection::HasExcludeMarker(int dirfd) const {
  struct stat st;
  for (const std::string& name : exclude_if_present)
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  return false;
}

namespace {

class SizeScanner {
 public:
  SizeScanner(const Selection& selection, const std::atomic<bool>* stop)
      : selection_(selection), stop_(stop) {}

  void Path(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return;
    if (S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
    if (!S_ISDIR(st.st_mode)) return;
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) Dir(fd, "", st.st_dev);  // takes fd
  }

  uint64_t total = 0;

 private:
  // Takes ownership of dirfd.
  void Dir(int dirfd, const std::string& rel, dev_t root_dev) {
    DIR* dir = fdopendir(dirfd);
    if (!dir) {
      close(dirfd);
      return;
    }
    while (struct dirent* e = readdir(dir)) {
      if (*stop_) break;
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      struct stat st;
      if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string child = rel.empty() ? name : rel + "/" + name;
      if (selection_.Check(child, st, root_dev) != Selection::Verdict::kInclude) continue;
      if (S_ISREG(st.st_mode)) total += static_cast<uint64_t>(st.st_size);
      if (!S_ISDIR(st.st_mode)) continue;
      int fd = openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;
      if (selection_.HasExcludeMarker(fd)) {
        close(fd);
        continue;
      }
      Dir(fd, child, root_dev);
    }
    closedir(dir);
  }

  const Selection& selection_;
  const std::atomic<bool>* stop_;
};

}  // namespace

uint64_t SelectedFileBytes(const std::vector<std::string>& paths, const Selection& selection,
                           const std::atomic<bool>* stop) {
  SizeScanner scanner(selection, stop);
  for (const std::string& p : paths) {
    if (*stop) break;
    scanner.Path(p);
  }
  return scanner.total;
}

Result<std::vector<std::string>> ReadPathList(const std::string& file, bool nul_separated) {
  ASSIGN_OR_RETURN(std::string text, ReadWholeFile(file));
  std::vector<std::string> paths;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, nul_separated ? '\0' : '\n')) {
    if (!nul_separated) {
      if (!item.empty() && item.back() == '\r') item.pop_back();
      if (item.empty() || item[0] == '#') continue;
    }
    if (!item.empty()) paths.push_back(item);
  }
  if (paths.empty()) return Status::InvalidArgument(file + ": lists no paths");
  return paths;
}

}  // namespace cairn
