// The local index: blob id -> (pack, offset, length), kept in RocksDB.
//
// It is derived data. Its truth is the repository's index files (and behind
// them the pack trailers); it records which index files it has absorbed and is
// brought up to date when a repository is opened. Deleting its folder only costs
// a rebuild. Memory stays bounded however many blobs the repository holds.
//
// Only entries of durable index files enter it: a writer's not-yet-indexed blobs
// live in the writer's own memory (Repository), so nothing here ever points at
// a pack that no index file names.
//
// Concurrency: RocksDB allows one process to open a database for writing. A
// second cairn process on the same machine opens it read-only and keeps what it
// learns in memory. Opening is serialized by index.lock in the cache folder, so
// the second waits only for the first's open step, never for its backup.
// Thread safety: all methods may be called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/index_file.h"
#include "repo/pack.h"

namespace cairn {

struct BlobLocation {
  Id pack;
  BlobEntry entry;
};

class Index {
 public:
  // Opens or creates the database in `dir`. A database that cannot be opened
  // (damaged, or from another format) is deleted and recreated empty. One that another
  // process has open is shared read-only (writes go to an in-memory overlay), or, if it cannot
  // be read, left alone while this process uses a private database of its own.
  static Result<std::unique_ptr<Index>> Open(const std::string& dir);
  virtual ~Index() = default;

  virtual Result<std::optional<BlobLocation>> Lookup(BlobType type, const Id& id) = 0;
  // Lookup of many ids at once (out[i] answers ids[i]): cheaper per id than one by one.
  virtual Result<std::vector<std::optional<BlobLocation>>> LookupMany(BlobType type, const std::vector<Id>& ids);
  // Absorbs one index file. Idempotent.
  virtual Status AddIndexFile(const Id& index_id, const std::vector<IndexedPack>& packs) = 0;
  // The two halves of AddIndexFile, for a rebuild that adds packs in pieces: entries, and the
  // mark that an index file has been absorbed.
  virtual Status AddPacks(const std::vector<IndexedPack>& packs) = 0;
  virtual Status MarkIndexFile(const Id& index_id) = 0;
  // Ids of the index files absorbed so far.
  virtual Result<std::vector<Id>> IndexFiles() = 0;
  // Calls fn(pack, size) for every pack the index knows.
  virtual Status ForEachPack(const std::function<Status(const Id&, uint64_t)>& fn) = 0;
  // Calls fn(location) for every blob.
  virtual Status ForEachBlob(const std::function<Status(const BlobLocation&)>& fn) = 0;
  // Drops everything (before a rebuild).
  virtual Status Clear() = 0;
  virtual bool read_only() const = 0;
  // Starts writing what was added so far to disk, in the background, for a caller done writing
  // for a while (a snapshot just committed): the close at the end of the command, which does it
  // anyway and waits for it, then has nothing left to write. A hint; it changes no entry.
  virtual void PersistSoon() {}
};

}  // namespace cairn
