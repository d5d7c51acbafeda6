#include "repo/index_set.h"

#include <algorithm>

namespace cairn {

namespace {
// Packs named per replacement index file.
constexpr size_t kPacksPerRewrittenIndexFile = 256;
}  // namespace

Result<IndexFileSet> ReadIndexFileSet(Repository* repo, const std::string& command) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(repo->backend()->List(ObjectType::kIndex, [&](const std::string& n, uint64_t) {
    names.push_back(n);
    return Status::OK();
  }));
  std::sort(names.begin(), names.end());
  IndexFileSet set;
  for (const std::string& name : names) {
    Result<std::vector<IndexedPack>> packs = repo->ReadIndexFile(name);
    if (!packs.ok())
      return packs.status().WithContext("index file " + name + " (run `cairn index rebuild --from-packs` before " +
                                        command + ")");
    std::vector<Id>& listed = set.files[name];
    for (IndexedPack& p : *packs) {
      listed.push_back(p.pack_id);
      set.packs.try_emplace(p.pack_id, std::move(p));
    }
  }
  return set;
}

Result<IndexReplacement> WriteReplacementIndexFiles(Repository* repo, const IndexFileSet& set,
                                                    const std::unordered_set<Id>& drop) {
  IndexReplacement out;
  std::unordered_set<Id> named_by_kept_files;
  for (const auto& [name, listed] : set.files) {
    bool touched = std::any_of(listed.begin(), listed.end(), [&](const Id& p) { return drop.count(p) > 0; });
    if (touched) {
      out.replaced.push_back(name);
    } else {
      named_by_kept_files.insert(listed.begin(), listed.end());
    }
  }
  std::vector<IndexedPack> carry;
  std::unordered_set<Id> carried;
  for (const std::string& name : out.replaced)
    for (const Id& p : set.files.at(name))
      if (!drop.count(p) && !named_by_kept_files.count(p) && carried.insert(p).second)
        carry.push_back(set.packs.at(p));
  for (size_t i = 0; i < carry.size(); i += kPacksPerRewrittenIndexFile) {
    size_t end = std::min(carry.size(), i + kPacksPerRewrittenIndexFile);
    std::vector<IndexedPack> part(carry.begin() + static_cast<std::ptrdiff_t>(i),
                                  carry.begin() + static_cast<std::ptrdiff_t>(end));
    RETURN_IF_ERROR_CTX(repo->WriteIndexFile(std::move(part)).status(), "write index file");
    out.files_written++;
  }
  return out;
}

Status RemoveReplacedIndexFiles(Repository* repo, const IndexReplacement& replacement) {
  for (const std::string& name : replacement.replaced)
    RETURN_IF_ERROR_CTX(repo->backend()->Delete({ObjectType::kIndex, name}), "remove index file " + name);
  return Status::OK();
}

}  // namespace cairn
