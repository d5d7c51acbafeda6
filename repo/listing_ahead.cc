#include "repo/listing_ahead.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "repo/inplace.h"

namespace cairn {

ListingAhead::ListingAhead(std::string root, const Selection* selection, dev_t root_dev)
    : root_(std::move(root)), selection_(selection), root_dev_(root_dev), thread_([this] { Run(); }) {}

ListingAhead::~ListingAhead() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

bool ListingAhead::WalkOrderLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  for (;;) {
    if (i >= a.size()) return j < b.size();  // a is b or a folder above it
    if (j >= b.size()) return false;
    size_t ie = std::min(a.find('/', i), a.size());
    size_t je = std::min(b.find('/', j), b.size());
    int c = a.compare(i, ie - i, b, j, je - j);
    if (c != 0) return c < 0;
    i = ie + 1;
    j = je + 1;
  }
}

std::unique_ptr<ListingAhead::Listing> ListingAhead::Take(const std::string& path) {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    // Folders before `path` in walk order, the walk has passed: dropped, making room.
    auto at = waiting_.lower_bound(path);
    if (at != waiting_.begin()) {
      for (auto it = waiting_.begin(); it != at; it = waiting_.erase(it))
        waiting_entries_ -= it->second->entries.size();
      changed_.notify_all();
    }
    if (at != waiting_.end() && at->first == path) {
      std::unique_ptr<Listing> listing = std::move(at->second);
      waiting_entries_ -= listing->entries.size();
      waiting_.erase(at);
      changed_.notify_all();
      return listing;
    }
    // Not there: it never will be once the lister has finished or moved past it.
    if (done_ || stop_ || (!position_.empty() && WalkOrderLess(path, position_))) return nullptr;
    changed_.wait(l);
  }
}

void ListingAhead::Started(const std::string& path) {
  {
    std::lock_guard<std::mutex> l(mu_);
    position_ = path;
  }
  changed_.notify_all();
}

bool ListingAhead::Publish(const std::string& path, std::unique_ptr<Listing> listing) {
  std::unique_lock<std::mutex> l(mu_);
  size_t n = listing->entries.size();
  changed_.wait(l, [&] { return stop_ || waiting_.empty() || waiting_entries_ + n <= kMaxWaitingEntries; });
  if (stop_) return false;
  waiting_entries_ += n;
  waiting_.emplace(path, std::move(listing));
  l.unlock();
  changed_.notify_all();
  return true;
}

void ListingAhead::Run() {
  int fd = open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) List(fd, root_, 0);
  {
    std::lock_guard<std::mutex> l(mu_);
    done_ = true;
  }
  changed_.notify_all();
}

bool ListingAhead::List(int fd, const std::string& path, int depth) {
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  Started(path);
  auto listing = std::make_unique<Listing>();
  struct timespec now;
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  listing->listed_at_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  if (fstat(fd, &listing->dir) != 0) return true;
  // On an error the walk lists the folder itself and reports it.
  Result<std::vector<std::string>> listed = ListNames(fd);
  if (!listed.ok()) return true;
  std::vector<std::string>& names = *listed;
  // A folder bigger than the room for waiting entries would hold its whole listing in memory
  // at once (a million files: some 180 MB) where the walk alone stats one entry at a time: the
  // lister stops, and the walk does the rest itself.
  if (names.size() > kMaxWaitingEntries) return false;
  listing->entries.reserve(names.size());
  std::vector<std::string> subdirs;
  for (std::string& name : names) {
    Entry& e = listing->entries.emplace_back();
    if (fstatat(fd, name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0) return true;  // as above
    e.name = std::move(name);
    // Where the walk descends: a folder it includes (not excluded, not on another file system
    // with --one-file-system); the exclude marker is checked once it is open, as the walk does.
    if (S_ISDIR(e.st.st_mode)) {
      std::string rel = (path + "/" + e.name).substr(root_.size() + 1);
      if (selection_->Check(rel, e.st, root_dev_) == Selection::Verdict::kInclude) subdirs.push_back(e.name);
    }
  }
  if (!Publish(path, std::move(listing))) return false;
  // Each level holds a descriptor open, beside the walk's own: deeper folders are left to the
  // walk, so a very deep tree cannot run the process out of descriptors.
  if (depth >= kMaxDepth) return true;
  for (const std::string& name : subdirs) {
    int sub = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) continue;
    if (selection_->HasExcludeMarker(sub)) {
      close(sub);
      continue;
    }
    if (!List(sub, path + "/" + name, depth + 1)) return false;
  }
  return true;
}

}  // namespace cairn
