// The local filesystem backend: one file per object under the repository folder.
//
// Durability of Put: the bytes go to tmp/<random>.tmp, are synced, then renamed into place and
// the destination folder is synced. rename() within one filesystem is atomic, so a reader (or
// a crash) sees either no object or the whole one; tmp/ holds nothing List ever reports.
//
// The backend keeps no mutable state: concurrent calls only meet in the filesystem, where
// distinct random temp names keep Puts apart.

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "store/backend.h"

namespace cairn {

namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr std::string_view kTmpFolder = "tmp";
constexpr std::string_view kTmpSuffix = ".tmp";

// Closes a descriptor on scope exit unless released.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now, reporting the error: some filesystems (NFS) only report write errors here.
  int Close() {
    int r = ::close(fd_);
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

class Dir {
 public:
  explicit Dir(DIR* d) : d_(d) {}
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir() {
    if (d_ != nullptr) ::closedir(d_);
  }
  DIR* get() const { return d_; }

 private:
  DIR* d_;
};

std::string Join(std::string_view a, std::string_view b) {
  std::string out(a);
  out += '/';
  out += b;
  return out;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Makes a folder's entries (creations, renames, removals) durable.
Status SyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open folder " + dir);
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "sync folder " + dir);
  return Status::OK();
}

// Creates a folder; one that already exists is fine.
Status MakeDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "create folder " + dir);
  }
  return Status::OK();
}

Status WriteAll(int fd, ByteView data) {
  // Linux writes at most ~2 GiB per call; smaller steps keep every call within that.
  constexpr size_t kMaxStep = size_t{1} << 30;
  size_t done = 0;
  while (done < data.size()) {
    size_t step = data.size() - done < kMaxStep ? data.size() - done : kMaxStep;
    ssize_t n = ::write(fd, data.data() + done, step);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "write");
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status SyncFile(int fd) {
#ifdef __linux__
  // fdatasync still syncs the size, which is all the metadata a reader needs.
  int r = ::fdatasync(fd);
#else
  int r = ::fsync(fd);
#endif
  if (r != 0) return Status::FromErrno(errno, "sync");
  return Status::OK();
}

Result<std::string> RandomHex(size_t n_bytes) {
  uint8_t buf[32];
  if (n_bytes > sizeof(buf)) n_bytes = sizeof(buf);
  size_t got = 0;
  while (got < n_bytes) {
    ssize_t r = ::getrandom(buf + got, n_bytes - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "getrandom");
    }
    got += static_cast<size_t>(r);
  }
  return ToHex(ByteView(buf, n_bytes));
}

// Reads exactly `length` bytes at `offset`; EOF before that is a short read.
Status PreadAll(int fd, uint8_t* buf, uint64_t offset, uint64_t length, const std::string& path) {
  uint64_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, buf + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "read " + path);
    }
    if (n == 0) {
      return Status::Corruption("short read " + path + ": wanted " + std::to_string(length) +
                                " bytes at offset " + std::to_string(offset) + ", got " +
                                std::to_string(done));
    }
    done += static_cast<uint64_t>(n);
  }
  return Status::OK();
}

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {}

  std::string Location() const override { return root_; }

  Status Put(const ObjectName& obj, ByteView data) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = PathOf(obj);
    Status st = PutFile(path, data);
    return st.ok() ? st : st.WithContext("put " + path);
  }

  Result<Bytes> Get(const ObjectName& obj) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = PathOf(obj);
    ASSIGN_OR_RETURN(int raw_fd, OpenForRead(path));
    Fd fd(raw_fd);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    Bytes out(static_cast<size_t>(st.st_size));
    RETURN_IF_ERROR(PreadAll(fd.get(), out.data(), 0, out.size(), path));
    return out;
  }

  Result<Bytes> GetRange(const ObjectName& obj, uint64_t offset, uint64_t length) override {
    Bytes out;
    RETURN_IF_ERROR(ReadRange(obj, offset, length, &out));
    return out;
  }

  Status GetRangeInto(const ObjectName& obj, uint64_t offset, uint64_t length,
                      Bytes* scratch) override {
    return ReadRange(obj, offset, length, scratch);
  }

  // Reads [offset, offset + length) into the start of *out, growing it to at least length.
  Status ReadRange(const ObjectName& obj, uint64_t offset, uint64_t length, Bytes* out) {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = PathOf(obj);
    ASSIGN_OR_RETURN(int raw_fd, OpenForRead(path));
    Fd fd(raw_fd);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    // Checked against the size before allocating: a damaged index must not make us allocate
    // whatever length it claims.
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size || length > size - offset) {
      return Status::Corruption("short read " + path + ": range " + std::to_string(offset) +
                                "+" + std::to_string(length) + " past end " +
                                std::to_string(size));
    }
    GrowScratch(out, static_cast<size_t>(length));
    return PreadAll(fd.get(), out->data(), offset, length, path);
  }

  void Prefetch(const ObjectName& obj, uint64_t offset, uint64_t length) override {
    if (!ValidateObjectName(obj).ok()) return;
    int fd = ::open(PathOf(obj).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length), POSIX_FADV_WILLNEED);
    ::close(fd);
  }

  Result<uint64_t> Stat(const ObjectName& obj) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = PathOf(obj);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + path);
    if (!S_ISREG(st.st_mode)) return Status::Corruption(path + " is not a regular file");
    return static_cast<uint64_t>(st.st_size);
  }

  Status List(ObjectType type,
              const std::function<Status(const std::string&, uint64_t)>& fn) override {
    if (type == ObjectType::kConfig) {
      struct stat st;
      std::string path = Join(root_, "config");
      if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) return Status::OK();
        return Status::FromErrno(errno, "stat " + path);
      }
      if (!S_ISREG(st.st_mode)) return Status::OK();
      return fn("", static_cast<uint64_t>(st.st_size));
    }
    std::string folder = Join(root_, ObjectTypeFolder(type));
    if (type != ObjectType::kData) return ListFolder(folder, type, "", fn);
    for (int i = 0; i < 256; i++) {
      char sub[3];
      std::snprintf(sub, sizeof(sub), "%02x", i);
      RETURN_IF_ERROR(ListFolder(Join(folder, sub), type, sub, fn));
    }
    return Status::OK();
  }

  Status Delete(const ObjectName& obj) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = PathOf(obj);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT) return Status::OK();
      return Status::FromErrno(errno, "delete " + path);
    }
    return SyncDir(ParentOf(path)).WithContext("delete " + path);
  }

  Result<uint64_t> DeleteUnfinishedPuts() override {
    std::string folder = Join(root_, kTmpFolder);
    Dir dir(::opendir(folder.c_str()));
    if (dir.get() == nullptr) {
      if (errno == ENOENT) return uint64_t{0};
      return Status::FromErrno(errno, "list " + folder);
    }
    uint64_t freed = 0;
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(dir.get());
      if (e == nullptr) {
        if (errno != 0) return Status::FromErrno(errno, "list " + folder);
        break;
      }
      std::string_view name = e->d_name;
      // Only our own temp files: anything else in tmp/ is not ours to remove.
      if (name.size() <= kTmpSuffix.size() ||
          name.substr(name.size() - kTmpSuffix.size()) != kTmpSuffix)
        continue;
      struct stat st;
      if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISREG(st.st_mode))
        continue;
      if (::unlinkat(::dirfd(dir.get()), e->d_name, 0) != 0) {
        if (errno == ENOENT) continue;
        return Status::FromErrno(errno, "delete " + Join(folder, std::string(name)));
      }
      freed += static_cast<uint64_t>(st.st_size);
    }
    return freed;
  }

 private:
  std::string PathOf(const ObjectName& obj) const { return Join(root_, obj.ToString()); }

  Result<int> OpenForRead(const std::string& path) const {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    return fd;
  }

  // Creates the temp file; recreates tmp/ if a copy of the repository lost the empty folder.
  Result<int> CreateTemp(std::string* tmp_path) const {
    std::string tmp_dir = Join(root_, kTmpFolder);
    for (int attempt = 0;; attempt++) {
      ASSIGN_OR_RETURN(std::string rnd, RandomHex(16));
      *tmp_path = Join(tmp_dir, rnd + std::string(kTmpSuffix));
      int fd = ::open(tmp_path->c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, kFileMode);
      if (fd >= 0) return fd;
      int err = errno;
      if (attempt < 3 && err == ENOENT) {
        RETURN_IF_ERROR(MakeDir(tmp_dir));
        continue;
      }
      if (attempt < 3 && (err == EEXIST || err == EINTR)) continue;
      return Status::FromErrno(err, "create " + *tmp_path);
    }
  }

  Status PutFile(const std::string& path, ByteView data) const {
    std::string tmp_path;
    ASSIGN_OR_RETURN(int raw_fd, CreateTemp(&tmp_path));
    Fd fd(raw_fd);
    Status st = WriteAll(fd.get(), data);
    if (st.ok()) st = SyncFile(fd.get());
    if (st.ok() && fd.Close() != 0) st = Status::FromErrno(errno, "close");
    if (st.ok()) st = RenameIntoPlace(tmp_path, path);
    if (!st.ok()) {
      ::unlink(tmp_path.c_str());  // best effort: the error that matters is st
      return st;
    }
    return SyncDir(ParentOf(path));
  }

  Status RenameIntoPlace(const std::string& tmp_path, const std::string& path) const {
    if (::rename(tmp_path.c_str(), path.c_str()) == 0) return Status::OK();
    if (errno != ENOENT) return Status::FromErrno(errno, "rename");
    // The destination folder is missing (a data/xx lost by a copy, or a pruned one): create
    // it, make that durable in its parent, and try once more.
    std::string dir = ParentOf(path);
    RETURN_IF_ERROR(MakeDir(dir));
    RETURN_IF_ERROR(SyncDir(ParentOf(dir)));
    if (::rename(tmp_path.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, "rename");
    return Status::OK();
  }

  // Reports the valid object names in one folder. `prefix` is the data subfolder name: a file
  // there that does not start with it could never be found by Get, so it is not listed.
  Status ListFolder(const std::string& folder, ObjectType type, std::string_view prefix,
                    const std::function<Status(const std::string&, uint64_t)>& fn) const {
    Dir dir(::opendir(folder.c_str()));
    if (dir.get() == nullptr) {
      if (errno == ENOENT) return Status::OK();
      return Status::FromErrno(errno, "list " + folder);
    }
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(dir.get());
      if (e == nullptr) {
        if (errno != 0) return Status::FromErrno(errno, "list " + folder);
        return Status::OK();
      }
      std::string name = e->d_name;
      // Temp files, dot files and strays all fail validation.
      if (!ValidateObjectName({type, name}).ok()) continue;
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      struct stat st;
      if (::fstatat(::dirfd(dir.get()), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // deleted while we listed
        return Status::FromErrno(errno, "stat " + Join(folder, name));
      }
      if (!S_ISREG(st.st_mode)) continue;
      RETURN_IF_ERROR(fn(name, static_cast<uint64_t>(st.st_size)));
    }
  }

  const std::string root_;
};

Result<bool> IsEmptyDir(const std::string& path) {
  Dir dir(::opendir(path.c_str()));
  if (dir.get() == nullptr) return Status::FromErrno(errno, "open " + path);
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return Status::FromErrno(errno, "list " + path);
      return true;
    }
    std::string_view name = e->d_name;
    if (name != "." && name != "..") return false;
  }
}

Status CreateLayout(const std::string& root) {
  bool created_root = true;
  if (::mkdir(root.c_str(), kDirMode) != 0) {
    int err = errno;
    if (err == ENOENT) {
      return Status::NotFound("cannot create repository at " + root +
                              ": parent folder does not exist");
    }
    if (err != EEXIST) return Status::FromErrno(err, "create repository at " + root);
    struct stat st;
    if (::stat(root.c_str(), &st) != 0) return Status::FromErrno(errno, "stat " + root);
    if (!S_ISDIR(st.st_mode)) return Status::AlreadyExists(root + " exists and is not a folder");
    ASSIGN_OR_RETURN(bool empty, IsEmptyDir(root));
    if (!empty) return Status::AlreadyExists("cannot create repository: " + root + " is not empty");
    created_root = false;
  }
  for (const char* folder : {"keys", "data", "index", "snapshots", "locks", "tmp"}) {
    RETURN_IF_ERROR(MakeDir(Join(root, folder)));
  }
  std::string data = Join(root, "data");
  for (int i = 0; i < 256; i++) {
    char sub[3];
    std::snprintf(sub, sizeof(sub), "%02x", i);
    RETURN_IF_ERROR(MakeDir(Join(data, sub)));
  }
  RETURN_IF_ERROR(SyncDir(data));
  RETURN_IF_ERROR(SyncDir(root));
  if (created_root) RETURN_IF_ERROR(SyncDir(ParentOf(root)));
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& path, bool create) {
  if (path.empty()) return Status::InvalidArgument("empty repository path");
  std::string root = path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (create) {
    RETURN_IF_ERROR(CreateLayout(root));
  } else {
    struct stat st;
    std::string config = Join(root, "config");
    if (::stat(config.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Status::RepoNotFound("no repository at " + root);
    }
  }
  return std::unique_ptr<Backend>(std::make_unique<LocalBackend>(std::move(root)));
}

}  // namespace cairn
