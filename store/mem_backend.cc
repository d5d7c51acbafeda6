// An in-memory backend for tests: objects keyed by the path the local backend would use, so
// both share one naming scheme and one set of name checks.

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/backend.h"

namespace cairn {

namespace {

class MemBackend : public Backend {
 public:
  std::string Location() const override { return "mem:"; }

  Status Put(const ObjectName& obj, ByteView data) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    Bytes copy(data.begin(), data.end());  // copied outside the lock
    std::lock_guard<std::mutex> lock(mu_);
    objects_[obj.ToString()] = std::move(copy);
    return Status::OK();
  }

  Result<Bytes> Get(const ObjectName& obj) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = obj.ToString();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(path);
    if (it == objects_.end()) return Status::NotFound(path + " does not exist");
    return it->second;
  }

  Result<Bytes> GetRange(const ObjectName& obj, uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = obj.ToString();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(path);
    if (it == objects_.end()) return Status::NotFound(path + " does not exist");
    const Bytes& b = it->second;
    if (offset > b.size() || length > b.size() - offset) {
      return Status::Corruption("short read " + path + ": range " + std::to_string(offset) +
                                "+" + std::to_string(length) + " past end " +
                                std::to_string(b.size()));
    }
    auto begin = b.begin() + static_cast<std::ptrdiff_t>(offset);
    return Bytes(begin, begin + static_cast<std::ptrdiff_t>(length));
  }

  Result<uint64_t> Stat(const ObjectName& obj) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = obj.ToString();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(path);
    if (it == objects_.end()) return Status::NotFound(path + " does not exist");
    return static_cast<uint64_t>(it->second.size());
  }

  Status List(ObjectType type,
              const std::function<Status(const std::string&, uint64_t)>& fn) override {
    // Collected first and reported without the lock, so fn may call back into the backend.
    std::vector<std::pair<std::string, uint64_t>> found;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (type == ObjectType::kConfig) {
        auto it = objects_.find("config");
        if (it != objects_.end()) found.emplace_back("", it->second.size());
      } else {
        std::string prefix = std::string(ObjectTypeFolder(type)) + "/";
        for (auto it = objects_.lower_bound(prefix);
             it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
          found.emplace_back(it->first.substr(it->first.rfind('/') + 1), it->second.size());
        }
      }
    }
    for (const auto& [name, size] : found) RETURN_IF_ERROR(fn(name, size));
    return Status::OK();
  }

  Status Delete(const ObjectName& obj) override {
    RETURN_IF_ERROR(ValidateObjectName(obj));
    std::string path = obj.ToString();
    std::lock_guard<std::mutex> lock(mu_);
    objects_.erase(path);
    return Status::OK();
  }

 private:
  std::mutex mu_;
  std::map<std::string, Bytes> objects_;  // GUARDED_BY(mu_); key: ObjectName::ToString()
};

}  // namespace

std::unique_ptr<Backend> NewMemBackend() { return std::make_unique<MemBackend>(); }

}  // namespace cairn
