// Pack writing and reading, and the whole Repository::SaveBlob path.
//
//  BM_PackWrite     SealBlob (compress + seal) of 256 KiB chunks into a PackBuilder until a
//                   32 MiB pack is finished. Bytes are plaintext bytes consumed.
//  BM_PackRead      ReadPackTrailer + OpenBlob (open, decompress, re-hash) of every blob of
//                   one finished pack held in memory.
//  BM_SaveBlobNew   Repository::SaveBlob on a MemBackend of chunks the repository has never
//                   seen: hash + dedup lookup (a miss) + compress + seal + pack, packs written
//                   inline by the saving thread, index files every 16 packs. From 1 and 2 threads.
//  BM_SaveBlobKnown SaveBlob of chunks already stored and indexed: hash + dedup lookup (a hit),
//                   the path an unchanged stream takes.
// The SaveBlob benchmarks report wall-clock rates and the process's CPU time per chunk (all
// threads, RocksDB's included): on a busy machine the CPU time shows whether a second thread
// costs extra work (contention) even when the wall-clock rate cannot scale.
//
// The data is a fixed mix resembling a DR corpus: half SQL-dump text, a quarter binary records
// (like a pg_dump custom -Z0 file or a Redis RDB), a quarter incompressible (compressed
// tarballs, already-compressed dumps).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "repo/format.h"
#include "repo/pack.h"
#include "repo/repository.h"
#include "store/backend.h"
#include "store/crypto.h"

namespace cairn {
namespace {

constexpr size_t kChunkBytes = 256 * 1024;
constexpr size_t kPoolChunks = 64;  // 16 MiB of distinct chunks

uint64_t Next(uint64_t* s) {  // xorshift64
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

Bytes SqlText(size_t n, uint64_t seed) {
  std::string s;
  s.reserve(n + 128);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  static const char* kCities[] = {"Berlin", "Lisbon", "Osaka", "Quito", "Tromso", "Lagos"};
  while (s.size() < n) {
    uint64_t r = Next(&x);
    uint32_t id = static_cast<uint32_t>(r % 10000000);
    s += "INSERT INTO public.pgbench_accounts VALUES (" + std::to_string(id) + ", " +
         std::to_string((r >> 24) % 100) + ", " +
         std::to_string(static_cast<int>((r >> 32) % 200001) - 100000) + ", '" +
         kCities[(r >> 40) % 6] + "', '2026-11-" + std::to_string(10 + (r >> 48) % 18) + " " +
         std::to_string((r >> 52) % 24) + ":" + std::to_string((r >> 56) % 60) + ":00+00');\n";
  }
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

// Length-prefixed records: ascending keys, small counters, timestamps, a 16-byte random uuid
// and a short string from a small vocabulary. zstd gets about 2-3x on it.
Bytes BinaryRecords(size_t n, uint64_t seed) {
  Bytes b;
  b.reserve(n + 64);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 7;
  uint64_t key = seed << 20, ts = 1795000000000ull + seed;
  static const char* kWords[] = {"active", "pending", "closed", "session:", "user:", "cart"};
  auto put = [&](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  while (b.size() < n) {
    uint64_t r = Next(&x);
    const char* w = kWords[r % 6];
    size_t wl = std::strlen(w);
    put(8 + 4 + 8 + 16 + wl, 4);
    put(key += 1 + r % 3, 8);
    put((r >> 8) % 1000, 4);
    put(ts += (r >> 16) % 5000, 8);
    put(Next(&x), 8);
    put(Next(&x), 8);
    b.insert(b.end(), w, w + wl);
  }
  b.resize(n);
  return b;
}

Bytes RandomData(size_t n, uint64_t seed) {
  Bytes b(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 3;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = Next(&x);
    std::memcpy(b.data() + i, &v, 8);
  }
  return b;
}

Bytes MixedChunk(size_t i) {
  switch (i % 4) {
    case 0:
    case 1:
      return SqlText(kChunkBytes, i);
    case 2:
      return BinaryRecords(kChunkBytes, i);
    default:
      return RandomData(kChunkBytes, i);
  }
}

struct Pool {
  Key32 id_key = RandomKey();
  Key32 seal_key = RandomKey();
  IdHasher hasher{id_key};
  Sealer sealer{seal_key, true};
  std::vector<Bytes> chunks;
  std::vector<Id> ids;
  Pool() {
    for (size_t i = 0; i < kPoolChunks; ++i) {
      chunks.push_back(MixedChunk(i));
      ids.push_back(hasher.Hash(chunks.back()));
    }
  }
};

const Pool& GetPool() {
  static const Pool pool;
  return pool;
}

// Fills one pack the way the repository does; returns the plaintext bytes consumed.
uint64_t FillPack(const Pool& pool, int level, size_t* next, PackBuilder* builder) {
  uint64_t raw = 0;
  while (builder->size_bytes() < kDefaultPackSize) {
    size_t i = (*next)++ % kPoolChunks;
    builder->Add(SealBlob(BlobType::kData, pool.ids[i], pool.chunks[i], level, pool.sealer));
    raw += pool.chunks[i].size();
  }
  return raw;
}

void BM_PackWrite(benchmark::State& state) {
  const Pool& pool = GetPool();
  const int level = static_cast<int>(state.range(0));
  PackBuilder builder;
  size_t next = 0;
  uint64_t raw = 0, packed = 0, blobs = 0;
  for (auto _ : state) {
    raw += FillPack(pool, level, &next, &builder);
    blobs += builder.count();
    Bytes pack = builder.Finish(pool.sealer);
    packed += pack.size();
    benchmark::DoNotOptimize(pack.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(raw));
  state.counters["ratio"] = static_cast<double>(raw) / static_cast<double>(packed);
  state.counters["blobs_per_pack"] =
      static_cast<double>(blobs) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_PackWrite)->ArgName("level")->Arg(1)->Arg(3)->Unit(benchmark::kMillisecond);

void BM_PackRead(benchmark::State& state) {
  const Pool& pool = GetPool();
  PackBuilder builder;
  size_t next = 0;
  const uint64_t raw = FillPack(pool, kDefaultCompressionLevel, &next, &builder);
  const Bytes pack = builder.Finish(pool.sealer);
  auto read = [&](uint64_t off, uint64_t len) -> Result<Bytes> {
    if (off > pack.size() || len > pack.size() - off) return Status::Corruption("past end");
    return Bytes(pack.begin() + static_cast<std::ptrdiff_t>(off),
                 pack.begin() + static_cast<std::ptrdiff_t>(off + len));
  };
  for (auto _ : state) {
    Result<std::vector<BlobEntry>> entries = ReadPackTrailer(pack.size(), pool.sealer, read);
    if (!entries.ok()) {
      state.SkipWithError(entries.status().ToString().c_str());
      return;
    }
    for (const BlobEntry& e : *entries) {
      Result<Bytes> plain =
          OpenBlob(e, ByteView(pack).subspan(e.offset, e.length), pool.sealer, pool.hasher);
      if (!plain.ok()) {
        state.SkipWithError(plain.status().ToString().c_str());
        return;
      }
      benchmark::DoNotOptimize(plain->data());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(raw * state.iterations()));
  state.counters["pack_bytes"] = static_cast<double>(pack.size());
}
BENCHMARK(BM_PackRead)->Unit(benchmark::kMillisecond);

// A repository on a MemBackend with its index in a temporary cache folder.
class BenchRepo {
 public:
  BenchRepo() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "cairn-pack-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      status_ = Status::IOError("mkdtemp failed");
      return;
    }
    cache_dir_ = tmpl;
    std::unique_ptr<Backend> backend = NewMemBackend();
    InitOptions init;
    init.scrypt.n = 1024;  // key derivation is not what is measured
    status_ = Repository::Init(backend.get(), "bench", init);
    if (!status_.ok()) return;
    OpenOptions open;
    open.cache_dir = cache_dir_;
    Result<std::unique_ptr<Repository>> repo = Repository::Open(std::move(backend), "bench", open);
    if (!repo.ok()) {
      status_ = repo.status();
      return;
    }
    repo_ = std::move(repo).value();
  }
  ~BenchRepo() {
    repo_.reset();
    std::error_code ec;
    if (!cache_dir_.empty()) std::filesystem::remove_all(cache_dir_, ec);
  }
  const Status& status() const { return status_; }
  Repository* repo() { return repo_.get(); }

 private:
  std::string cache_dir_;
  Status status_;
  std::unique_ptr<Repository> repo_;
};

// Shared by the threads of one run: created by thread 0 before the timed loop (the loop's start
// is a barrier), destroyed by thread 0 after it (so is its end).
std::unique_ptr<BenchRepo> g_repo;

void SetupRepo(benchmark::State& state) {
  if (state.thread_index() != 0) return;
  g_repo = std::make_unique<BenchRepo>();
  if (!g_repo->status().ok()) state.SkipWithError(g_repo->status().ToString().c_str());
}

void TeardownRepo(benchmark::State& state, bool report_packs) {
  if (state.thread_index() != 0) return;
  if (g_repo->repo() != nullptr) {
    Status s = g_repo->repo()->Flush();  // not timed: the last, partial pack
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    if (report_packs) {
      uint64_t packs = 0, index_files = 0;
      (void)g_repo->repo()->backend()->List(ObjectType::kData, [&](const std::string&, uint64_t) {
        ++packs;
        return Status::OK();
      });
      (void)g_repo->repo()->backend()->List(ObjectType::kIndex, [&](const std::string&, uint64_t) {
        ++index_files;
        return Status::OK();
      });
      state.counters["packs"] = static_cast<double>(packs);
      state.counters["index_files"] = static_cast<double>(index_files);
    }
  }
  g_repo.reset();
}

void BM_SaveBlobNew(benchmark::State& state) {
  SetupRepo(state);
  // Each thread saves its own copy of the pool with a counter stamped into the first bytes of
  // each chunk, so every save is new content (a dedup miss).
  std::vector<Bytes> chunks = GetPool().chunks;
  uint64_t counter = static_cast<uint64_t>(state.thread_index()) << 48;
  uint64_t raw = 0, stored = 0;
  for (auto _ : state) {
    Repository* repo = g_repo->repo();
    if (repo == nullptr) {
      state.SkipWithError("no repository");
      break;
    }
    Bytes& c = chunks[counter % kPoolChunks];
    ++counter;
    std::memcpy(c.data(), &counter, sizeof(counter));
    Result<SaveResult> r = repo->SaveBlob(BlobType::kData, c);
    if (!r.ok() || !r->added) {
      state.SkipWithError(r.ok() ? "chunk unexpectedly deduplicated"
                                 : r.status().ToString().c_str());
      break;
    }
    raw += c.size();
    stored += r->stored_bytes;
  }
  state.SetBytesProcessed(static_cast<int64_t>(raw));
  state.counters["ratio"] = benchmark::Counter(
      static_cast<double>(raw) / static_cast<double>(stored), benchmark::Counter::kAvgThreads);
  TeardownRepo(state, true);
}
// A fixed 5120 chunks (1.25 GiB) per thread: about 20 packs, so every run writes at least one
// index file (every 16 packs) and moves its entries into RocksDB inside the timed loop.
BENCHMARK(BM_SaveBlobNew)
    ->Threads(1)
    ->Threads(2)
    ->Iterations(5120)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_SaveBlobKnown(benchmark::State& state) {
  SetupRepo(state);
  const Pool& pool = GetPool();
  if (state.thread_index() == 0 && g_repo->repo() != nullptr) {
    for (const Bytes& c : pool.chunks) {
      Result<SaveResult> r = g_repo->repo()->SaveBlob(BlobType::kData, c);
      if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    }
    Status s = g_repo->repo()->Flush();  // now in the local index, not the writer's memory
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
  }
  size_t next = static_cast<size_t>(state.thread_index()) * kPoolChunks / 2;
  uint64_t raw = 0;
  for (auto _ : state) {
    Repository* repo = g_repo->repo();
    if (repo == nullptr) {
      state.SkipWithError("no repository");
      break;
    }
    const Bytes& c = pool.chunks[next++ % kPoolChunks];
    Result<SaveResult> r = repo->SaveBlob(BlobType::kData, c);
    if (!r.ok() || r->added) {
      state.SkipWithError(r.ok() ? "known chunk stored again" : r.status().ToString().c_str());
      break;
    }
    raw += c.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(raw));
  TeardownRepo(state, false);
}
BENCHMARK(BM_SaveBlobKnown)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cairn
