#include "store/page_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

namespace cairn {

Status DropPackPagesFromCache(const std::string& repo_path, uint64_t* bytes) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(repo_path + "/data", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    int fd = open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open " + it->path().string());
    int err = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    total += it->file_size(ec);
    close(fd);
    if (err != 0) return Status::FromErrno(err, "posix_fadvise " + it->path().string());
  }
  if (ec) return Status::IOError("walk " + repo_path + "/data: " + ec.message());
  if (bytes) *bytes = total;
  return Status::OK();
}

}  // namespace cairn
