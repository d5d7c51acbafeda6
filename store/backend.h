// The storage backend interface: a flat store of immutable, named objects.
//
// Everything the repository persists goes through these few calls, so a
// backend for an object store (S3) implements the same five operations.
// Contract every implementation keeps (store/backend_test.cc checks it):
//  - Put is atomic and durable on success: a reader sees either no object or the
//    whole object, and after a crash a successful Put's object is still there.
//  - Objects are immutable; Put of an existing name replaces it atomically
//    (content-named objects make this a no-op in practice).
//  - Get of a missing object fails with Code::kNotFound.
//  - List never returns partial or temporary objects.
//  - Every call first checks its name with ValidateObjectName and fails with
//    kInvalidArgument, so a hostile name never reaches a path.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace cairn {

// kScrub (scrub state), kPrune (pending prune records), kSweep (sweep markers) and kRepair (repair
// records) are optional v1 objects added later (docs/FORMAT.md section 2): readers that predate
// them never list their folders.
enum class ObjectType { kConfig, kKey, kData, kIndex, kSnapshot, kLock, kScrub, kPrune, kSweep, kRepair };

const char* ObjectTypeName(ObjectType t);

// The folder holding a type's objects, relative to the repository: "keys", "data", ...;
// "" for config, which sits at the top.
const char* ObjectTypeFolder(ObjectType t);

// Longest accepted object name, in hex characters.
inline constexpr size_t kMaxObjectNameLength = 128;

struct ObjectName {
  ObjectType type;
  std::string name;  // lower-case hex for content-named objects; empty for config
  std::string ToString() const;  // the relative path, e.g. "data/3f/3fa2…"
};

// Config must have an empty name; every other object 1..kMaxObjectNameLength characters of
// [0-9a-f] (data: at least 2, they pick its subfolder). Anything else is kInvalidArgument.
Status ValidateObjectName(const ObjectName& obj);

class Backend {
 public:
  virtual ~Backend() = default;
  // Human-readable location, for messages.
  virtual std::string Location() const = 0;
  virtual Status Put(const ObjectName& obj, ByteView data) = 0;
  virtual Result<Bytes> Get(const ObjectName& obj) = 0;
  // Reads [offset, offset + length). Reading past the end fails with Corruption.
  virtual Result<Bytes> GetRange(const ObjectName& obj, uint64_t offset, uint64_t length) = 0;
  // The same, into the first `length` bytes of *scratch, which only grows: a restore reads
  // range after range into one buffer per thread instead of allocating (and zeroing) each.
  // The default goes through GetRange.
  virtual Status GetRangeInto(const ObjectName& obj, uint64_t offset, uint64_t length,
                              Bytes* scratch) {
    ASSIGN_OR_RETURN(Bytes bytes, GetRange(obj, offset, length));
    *scratch = std::move(bytes);
    return Status::OK();
  }
  // A hint that [offset, offset + length) will be read soon: a backend may start fetching it
  // (the local one asks the kernel to read it ahead). Errors are ignored; the default does
  // nothing.
  virtual void Prefetch(const ObjectName& obj, uint64_t offset, uint64_t length) {
    (void)obj, (void)offset, (void)length;
  }
  // Size of an object; kNotFound if absent.
  virtual Result<uint64_t> Stat(const ObjectName& obj) = 0;
  // Calls fn(name, size) for every object of a type, in no particular order.
  // Stops and returns fn's status if it fails. For kConfig: ("", size) if config exists.
  virtual Status List(ObjectType type,
                      const std::function<Status(const std::string& name, uint64_t size)>& fn) = 0;
  // Deleting a missing object succeeds.
  virtual Status Delete(const ObjectName& obj) = 0;
  // Removes the partial objects of Puts that never finished (a writer killed mid-Put) and
  // returns how many bytes that freed. Only safe when no other process is writing: a running
  // Put's partial object looks the same. Backends that leave nothing behind return 0.
  virtual Result<uint64_t> DeleteUnfinishedPuts() { return uint64_t{0}; }
};

// Opens a repository folder on the local filesystem. The folder must exist and hold a
// repository (a `config` file) unless `create` is set, in which case it must be absent or empty
// and the layout is created.
Result<std::unique_ptr<Backend>> OpenLocalBackend(const std::string& path, bool create);

// An in-memory backend for tests.
std::unique_ptr<Backend> NewMemBackend();

// Fault injection for tests: wraps a backend and fails chosen calls. A failed Put stores
// nothing. `base` must outlive it. Thread-safe: the counters are atomic.
struct FaultPlan {
  int fail_put_after = -1;      // the Nth Put (0-based) and all later ones fail; -1 never
  ObjectType fail_put_type = ObjectType::kData;
  bool fail_put_any_type = true;  // if false, only Puts of fail_put_type count and fail
  Code fail_code = Code::kIOError;
  int fail_get_after = -1;      // the Nth Get/GetRange and all later ones fail; -1 never
};
class FaultyBackend : public Backend {
 public:
  FaultyBackend(Backend* base, FaultPlan plan);
  std::string Location() const override;
  Status Put(const ObjectName& obj, ByteView data) override;
  Result<Bytes> Get(const ObjectName& obj) override;
  Result<Bytes> GetRange(const ObjectName& obj, uint64_t offset, uint64_t length) override;
  Result<uint64_t> Stat(const ObjectName& obj) override;
  Status List(ObjectType type,
              const std::function<Status(const std::string&, uint64_t)>& fn) override;
  Status Delete(const ObjectName& obj) override;
  Result<uint64_t> DeleteUnfinishedPuts() override;
  // Puts that counted toward fail_put_after so far (all Puts if fail_put_any_type, else only
  // those of fail_put_type), failed ones included: run once without faults, then retry with
  // fail_put_after = 0 .. puts_seen() - 1 to fail every Put in turn.
  int puts_seen() const;

 private:
  Backend* base_;
  FaultPlan plan_;
  struct Counters;
  std::shared_ptr<Counters> counters_;
};

}  // namespace cairn
