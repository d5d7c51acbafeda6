// FaultyBackend: forwards every call, failing chosen Puts and Gets so tests can check what a
// failure at each step leaves behind.

#include <atomic>

#include "store/backend.h"

namespace cairn {

namespace {

// Status has no public (code, message) constructor; map the code to its named constructor.
Status MakeStatus(Code code, const std::string& msg) {
  switch (code) {
    case Code::kInvalidArgument: return Status::InvalidArgument(msg);
    case Code::kNotFound: return Status::NotFound(msg);
    case Code::kAlreadyExists: return Status::AlreadyExists(msg);
    case Code::kCorruption: return Status::Corruption(msg);
    case Code::kNoSpace: return Status::NoSpace(msg);
    case Code::kWrongPassword: return Status::WrongPassword(msg);
    case Code::kRepoNotFound: return Status::RepoNotFound(msg);
    case Code::kLocked: return Status::Locked(msg);
    case Code::kAborted: return Status::Aborted(msg);
    case Code::kOk:  // an "injected success" would be no fault at all
    case Code::kIOError: break;
  }
  return Status::IOError(msg);
}

}  // namespace

struct FaultyBackend::Counters {
  std::atomic<int> puts{0};
  std::atomic<int> gets{0};
};

FaultyBackend::FaultyBackend(Backend* base, FaultPlan plan)
    : base_(base), plan_(plan), counters_(std::make_shared<Counters>()) {}

std::string FaultyBackend::Location() const { return base_->Location(); }

Status FaultyBackend::Put(const ObjectName& obj, ByteView data) {
  // Invalid names fail before counting, exactly as the base would fail them.
  RETURN_IF_ERROR(ValidateObjectName(obj));
  if (plan_.fail_put_any_type || obj.type == plan_.fail_put_type) {
    int n = counters_->puts.fetch_add(1);
    if (plan_.fail_put_after >= 0 && n >= plan_.fail_put_after) {
      return MakeStatus(plan_.fail_code, "injected fault: put " + obj.ToString());
    }
  }
  return base_->Put(obj, data);
}

Result<Bytes> FaultyBackend::Get(const ObjectName& obj) {
  RETURN_IF_ERROR(ValidateObjectName(obj));
  int n = counters_->gets.fetch_add(1);
  if (plan_.fail_get_after >= 0 && n >= plan_.fail_get_after) {
    return MakeStatus(plan_.fail_code, "injected fault: get " + obj.ToString());
  }
  return base_->Get(obj);
}

Result<Bytes> FaultyBackend::GetRange(const ObjectName& obj, uint64_t offset, uint64_t length) {
  RETURN_IF_ERROR(ValidateObjectName(obj));
  int n = counters_->gets.fetch_add(1);
  if (plan_.fail_get_after >= 0 && n >= plan_.fail_get_after) {
    return MakeStatus(plan_.fail_code, "injected fault: get " + obj.ToString());
  }
  return base_->GetRange(obj, offset, length);
}

Result<uint64_t> FaultyBackend::Stat(const ObjectName& obj) { return base_->Stat(obj); }

Status FaultyBackend::List(ObjectType type,
                           const std::function<Status(const std::string&, uint64_t)>& fn) {
  return base_->List(type, fn);
}

Status FaultyBackend::Delete(const ObjectName& obj) { return base_->Delete(obj); }
Result<uint64_t> FaultyBackend::DeleteUnfinishedPuts() { return base_->DeleteUnfinishedPuts(); }

int FaultyBackend::puts_seen() const { return counters_->puts.load(); }

}  // namespace cairn
