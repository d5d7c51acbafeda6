// The one table mapping outcomes to process exit codes. README.md documents it;
// scripts and monitoring depend on it, so codes never change meaning.
#pragma once

#include "common/status.h"

namespace cairn::cli {

// Each comment names every current use of its code. Besides the commands' own returns,
// ExitCodeFor below maps the Status any command fails with (codes 1, 2, 10 to 16).
enum ExitCode : int {
  kExitOk = 0,
  // Any other failure: I/O errors; restore: entries that could not be written, or (in place,
  // without --delete) folders standing where the snapshot has a file; scrub --budget: the scrub
  // state could not be written, so the next run would read the same packs again.
  kExitFailure = 1,
  kExitUsage = 2,  // bad command line or arguments (CLI11 parse errors, kInvalidArgument)
  // snapshot: written, but some inputs could not be read (the snapshot is flagged partial);
  // diff with live files: no difference found, but some live entries could not be read.
  kExitPartial = 3,
  kExitRepoNotFound = 10,  // no repository at the given location
  // snapshot (also the pre-rollback snapshot of restore --in-place): refused, nothing
  // committed, because a prune may have deleted data the session relies on (a sweep since it
  // started, a pack it deduplicated against already deleted, or a session of more than 29
  // days); run the command again. The name is older than this use: no command fails because
  // of a lock.
  kExitLocked = 11,
  kExitWrongPassword = 12,  // no key opens with the password
  // Repository data failed a check (damage or tampering): scrub found damage; scrub --status: a
  // pack was damaged at its last check; restore left out damaged entries; stats: referenced
  // blobs are in no index file; prune and index rebuild reported problems; repair: a snapshot
  // is still damaged or unreadable; any command that reads damaged data.
  kExitDamage = 13,
  kExitNotFound = 14,  // a named snapshot, path or input does not exist
  kExitNoSpace = 15,   // a disk or quota is full
  // snapshot --stdin-from-command: the producing command failed; nothing was committed.
  kExitAborted = 16,
  // diff: two snapshots differ, or live files differ from a snapshot (diff SNAPSHOT PATH).
  kExitDifferent = 17,
  // restore --verify (to a folder, in place or not): files read back from disk differ from
  // the snapshot.
  kExitVerifyFailed = 18,
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
