#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace cairn {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kCorruption: return "corruption";
    case Code::kIOError: return "I/O error";
    case Code::kNoSpace: return "no space";
    case Code::kWrongPassword: return "wrong password";
    case Code::kRepoNotFound: return "repository not found";
    case Code::kLocked: return "locked";
    case Code::kAborted: return "aborted";
  }
  return "unknown";
}

Status Status::FromErrno(int err, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return NoSpace(msg);
  if (err == ENOENT) return NotFound(msg);
  return IOError(msg);
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return msg_;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += msg_;
  return Status(code_, msg);
}

}  // namespace cairn
