// The one table mapping outcomes to process exit codes. README.md documents it;
// scripts and monitoring depend on it, so codes never change meaning.
#pragma once

#include "common/status.h"

namespace cairn::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,         // any other failure
  kExitUsage = 2,           // bad command line
  kExitPartial = 3,         // snapshot written, but some inputs could not be read
  kExitRepoNotFound = 10,   // no repository at the given location
  kExitLocked = 11,         // another process holds a lock
  kExitWrongPassword = 12,  // no key opens with the password
  kExitDamage = 13,         // repository data failed a check (damage or tampering)
  kExitNotFound = 14,       // a named snapshot, path or input does not exist
  kExitNoSpace = 15,        // a disk or quota is full
  kExitAborted = 16,        // the producing command failed; nothing was committed
  kExitDifferent = 17,      // a comparison (diff) found differences
  kExitVerifyFailed = 18,   // restore --verify read back files that differ from the snapshot
};

inline int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument: return kExitUsage;
    case Code::kNotFound: return kExitNotFound;
    case Code::kCorruption: return kExitDamage;
    case Code::kNoSpace: return kExitNoSpace;
    case Code::kWrongPassword: return kExitWrongPassword;
    case Code::kRepoNotFound: return kExitRepoNotFound;
    case Code::kLocked: return kExitLocked;
    case Code::kAborted: return kExitAborted;
    case Code::kAlreadyExists:
    case Code::kIOError: return kExitFailure;
  }
  return kExitFailure;
}

}  // namespace cairn::cli
