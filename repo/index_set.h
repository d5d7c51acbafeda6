// The index files of a repository as a whole, for the commands that take packs out of the index
// (prune, repair). Taking packs out is always: write replacement index files naming everything
// else the touched files named, record what was dropped, then remove the touched files; new
// before old, so a crash leaves a pack named twice (harmless), never a needed pack named nowhere.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "repo/repository.h"

namespace cairn {

struct IndexFileSet {
  std::map<std::string, std::vector<Id>> files;  // name -> packs it names
  std::unordered_map<Id, IndexedPack> packs;      // every indexed pack, once
};

// Reads every index file as it stands now. An unreadable one stops the read: its packs would
// look unnamed. `command` names the caller in the advice.
Result<IndexFileSet> ReadIndexFileSet(Repository* repo, const std::string& command);

struct IndexReplacement {
  std::vector<std::string> replaced;  // files that name a dropped pack: remove after recording
  uint64_t files_written = 0;
};

// Writes index files naming every pack the files touching `drop` named, except the dropped ones.
Result<IndexReplacement> WriteReplacementIndexFiles(Repository* repo, const IndexFileSet& set,
                                                    const std::unordered_set<Id>& drop);

// Removes the replaced files (after the caller recorded what it dropped).
Status RemoveReplacedIndexFiles(Repository* repo, const IndexReplacement& replacement);

}  // namespace cairn
