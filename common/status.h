// Status and Result<T>: how every fallible call in cairn reports failure.
//
// The library never throws. A call returns a Status (or a Result<T> holding a
// value or a Status); callers propagate with RETURN_IF_ERROR / ASSIGN_OR_RETURN
// and add context at each layer, so a message reads outermost first:
//   "restore db.dump: blob 3fa2…: pack 9c01…: authentication failed".
// The code, not the message, decides the exit code (see cli/exit_codes.h).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cairn {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something that makes no sense
  kNotFound,         // a named snapshot, path or object does not exist
  kAlreadyExists,    // refusing to overwrite
  kCorruption,       // repository data failed a check: damage or tampering
  kIOError,          // the operating system or backend failed
  kNoSpace,          // ENOSPC / quota: distinct because operators act on it
  kWrongPassword,    // no key file opens with the given password
  kRepoNotFound,     // no repository at the given location
  kLocked,           // a concurrent process (a prune's sweep) makes this commit unsafe: retry
  kAborted,          // an input producer failed; nothing was committed
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return Status(Code::kInvalidArgument, msg); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status AlreadyExists(std::string_view msg) { return Status(Code::kAlreadyExists, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status NoSpace(std::string_view msg) { return Status(Code::kNoSpace, msg); }
  static Status WrongPassword(std::string_view msg) { return Status(Code::kWrongPassword, msg); }
  static Status RepoNotFound(std::string_view msg) { return Status(Code::kRepoNotFound, msg); }
  static Status Locked(std::string_view msg) { return Status(Code::kLocked, msg); }
  static Status Aborted(std::string_view msg) { return Status(Code::kAborted, msg); }
  // An I/O failure from errno: ENOSPC and EDQUOT become kNoSpace.
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  std::string ToString() const;

  // Returns this status with "context: " prepended to the message.
  Status WithContext(std::string_view context) const;

  // For the rare deliberate ignore; greppable.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string_view msg) : code_(code), msg_(msg) {}
  Code code_ = Code::kOk;
  std::string msg_;
};

// Result<T> holds either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cairn

#define CAIRN_CONCAT_INNER(a, b) a##b
#define CAIRN_CONCAT(a, b) CAIRN_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)              \
  do {                                     \
    ::cairn::Status _st = (expr);          \
    if (!_st.ok()) return _st;             \
  } while (0)

#define RETURN_IF_ERROR_CTX(expr, ctx)           \
  do {                                           \
    ::cairn::Status _st = (expr);                \
    if (!_st.ok()) return _st.WithContext(ctx);  \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(CAIRN_CONCAT(_res_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_CTX_IMPL(tmp, lhs, expr, ctx)       \
  auto tmp = (expr);                                         \
  if (!tmp.ok()) return tmp.status().WithContext(ctx);       \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN_CTX(lhs, expr, ctx) \
  ASSIGN_OR_RETURN_CTX_IMPL(CAIRN_CONCAT(_res_, __LINE__), lhs, expr, ctx)
