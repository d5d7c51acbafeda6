// Evicting a local repository's pack files from the operating system's page
// cache, so a benchmark can measure a cold restore without root privileges
// (posix_fadvise(POSIX_FADV_DONTNEED) drops a file's clean cached pages).
#pragma once

#include <string>

#include "common/status.h"

namespace cairn {

// Drops the cached pages of every file under <repo_path>/data. Returns the byte count evicted
// through *bytes if non-null.
Status DropPackPagesFromCache(const std::string& repo_path, uint64_t* bytes);

}  // namespace cairn
