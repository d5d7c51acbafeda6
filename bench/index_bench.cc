// The local index (repo/index.h, RocksDB) at repository scale.
//
// One database per process is built (lazily, by whichever benchmark needs it first) in a temp
// folder that is removed at exit: CAIRN_BENCH_INDEX_ENTRIES blob entries (default 10,000,000)
// added through Index::AddIndexFile in index files of CAIRN_BENCH_INDEX_PACKS_PER_FILE packs
// (default 1000) of 350..450 blobs each. The database is then closed and reopened, as the next
// cairn command would find it.
//
//  BM_IndexBuild       reports the build: insert time (manual time), entries/s, on-disk size,
//                      peak RSS (VmHWM, reset before the build when the kernel allows) and RSS.
//  BM_IndexLookupHit   Index::Lookup of random stored ids.
//  BM_IndexLookupMiss  Index::Lookup of ids never stored: the common case of a dedup lookup,
//                      which the bloom filters should make cheap.
//
// Smoke run: CAIRN_BENCH_INDEX_ENTRIES=100000 cairn_bench --benchmark_filter=Index
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "repo/format.h"
#include "repo/index.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

uint64_t SplitMix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Deterministic, uniformly distributed ids (like HMAC outputs): blob ids are IdFor(kBlobs, i)
// for i < entries, so any i >= entries is a guaranteed miss.
enum IdSpace : uint64_t { kBlobs = 1, kPacks = 2, kIndexFiles = 3 };
Id IdFor(IdSpace space, uint64_t i) {
  Id id;
  for (uint64_t w = 0; w < 4; ++w) {
    uint64_t v = SplitMix((i << 2 | w) ^ (space << 60));
    std::memcpy(id.bytes.data() + 8 * w, &v, 8);
  }
  return id;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

// A "Vm...:  123 kB" line of /proc/self/status, in bytes; 0 if absent.
uint64_t ProcStatusBytes(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0 && line.size() > n && line[n] == ':')
      return std::strtoull(line.c_str() + n + 1, nullptr, 10) * 1024;
  return 0;
}

// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0).
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return out.good();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct IndexDb {
  std::string dir;
  std::unique_ptr<Index> index;
  Status status;
  uint64_t entries = 0, packs = 0, index_files = 0;
  double insert_seconds = 0;  // inside AddIndexFile only
  double build_seconds = 0;   // including generating the entries
  double close_seconds = 0, open_seconds = 0;
  bool peak_reset = false;
  uint64_t rss_before = 0, peak_rss = 0, rss_after = 0;
  uint64_t disk_bytes = 0, sst_files = 0;

  IndexDb() { status = Build(); }
  ~IndexDb() {
    index.reset();
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  Status Build() {
    const uint64_t want = EnvOr("CAIRN_BENCH_INDEX_ENTRIES", 10'000'000);
    const uint64_t packs_per_file =
        std::max<uint64_t>(1, EnvOr("CAIRN_BENCH_INDEX_PACKS_PER_FILE", 1000));
    std::string tmpl = (fs::temp_directory_path() / "cairn-index-bench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("mkdtemp failed");
    dir = tmpl;
    const std::string db_dir = dir + "/index";
    std::fprintf(stderr, "index_bench: building %llu entries in %s ...\n",
                 static_cast<unsigned long long>(want), db_dir.c_str());

    peak_reset = ResetPeakRss();
    rss_before = ProcStatusBytes("VmRSS");
    auto build_start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(index, Index::Open(db_dir));
    std::vector<IndexedPack> file;
    auto flush_file = [&]() -> Status {
      auto t = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(index->AddIndexFile(IdFor(kIndexFiles, index_files++), file));
      insert_seconds += Seconds(t);
      file.clear();
      return Status::OK();
    };
    while (entries < want) {
      IndexedPack p;
      p.pack_id = IdFor(kPacks, packs);
      uint64_t blobs = std::min<uint64_t>(350 + SplitMix(packs) % 101, want - entries);
      ++packs;
      uint64_t offset = kPackMagicSize;
      for (uint64_t b = 0; b < blobs; ++b) {
        BlobEntry e;
        e.type = BlobType::kData;
        e.id = IdFor(kBlobs, entries++);
        e.offset = offset;
        e.length = 40'000 + SplitMix(entries) % 200'000;
        e.raw_length = 256 * 1024;
        e.compression = Compression::kZstd;
        offset += e.length;
        p.blobs.push_back(e);
      }
      p.pack_size = offset + 20'000;
      file.push_back(std::move(p));
      if (file.size() == packs_per_file) RETURN_IF_ERROR(flush_file());
    }
    if (!file.empty()) RETURN_IF_ERROR(flush_file());
    build_seconds = Seconds(build_start);
    peak_rss = ProcStatusBytes("VmHWM");
    rss_after = ProcStatusBytes("VmRSS");

    auto t = std::chrono::steady_clock::now();
    index.reset();  // flushes the memtable (no WAL) and finishes running compactions
    close_seconds = Seconds(t);
    std::error_code ec;
    for (const auto& f : fs::recursive_directory_iterator(db_dir, ec)) {
      if (!f.is_regular_file()) continue;
      disk_bytes += f.file_size();
      if (f.path().extension() == ".sst") ++sst_files;
    }
    t = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(index, Index::Open(db_dir));
    open_seconds = Seconds(t);
    std::fprintf(stderr, "index_bench: built in %.1f s\n", build_seconds);
    return Status::OK();
  }
};

IndexDb& Db() {
  static IndexDb db;  // destroyed (and its folder removed) at exit
  return db;
}

void BM_IndexBuild(benchmark::State& state) {
  IndexDb& db = Db();
  if (!db.status.ok()) {
    state.SkipWithError(db.status.ToString().c_str());
    return;
  }
  for (auto _ : state) state.SetIterationTime(db.insert_seconds);
  using C = benchmark::Counter;
  auto& c = state.counters;
  c["entries"] = static_cast<double>(db.entries);
  c["index_files"] = static_cast<double>(db.index_files);
  c["entries_per_s"] = static_cast<double>(db.entries) / db.insert_seconds;
  c["build_s"] = db.build_seconds;  // including generating the entries
  c["close_s"] = db.close_seconds;
  c["reopen_s"] = db.open_seconds;
  c["disk_bytes"] = C(static_cast<double>(db.disk_bytes), C::kDefaults, C::kIs1024);
  c["disk_bytes_per_entry"] = static_cast<double>(db.disk_bytes) / static_cast<double>(db.entries);
  c["sst_files"] = static_cast<double>(db.sst_files);
  c["rss_before"] = C(static_cast<double>(db.rss_before), C::kDefaults, C::kIs1024);
  c["peak_rss"] = C(static_cast<double>(db.peak_rss), C::kDefaults, C::kIs1024);
  c["rss_after"] = C(static_cast<double>(db.rss_after), C::kDefaults, C::kIs1024);
  state.SetLabel(db.peak_reset ? "peak RSS since the build started"
                               : "peak RSS of the whole process");
}
BENCHMARK(BM_IndexBuild)->Iterations(1)->Repetitions(1)->UseManualTime()->Unit(benchmark::kSecond);

// Each thread looks up its own random sample of ids; `stored` picks hits or misses.
void Lookup(benchmark::State& state, bool stored) {
  IndexDb& db = Db();
  if (!db.status.ok()) {
    state.SkipWithError(db.status.ToString().c_str());
    return;
  }
  constexpr size_t kSample = 1 << 16;
  std::vector<Id> ids;
  ids.reserve(kSample);
  uint64_t seed = SplitMix(static_cast<uint64_t>(state.thread_index()) + (stored ? 100 : 200));
  for (size_t i = 0; i < kSample; ++i) {
    seed = SplitMix(seed);
    uint64_t n = stored ? seed % db.entries : db.entries + seed % (uint64_t{1} << 40);
    ids.push_back(IdFor(kBlobs, n));
  }
  size_t i = 0;
  for (auto _ : state) {
    Result<std::optional<BlobLocation>> loc = db.index->Lookup(BlobType::kData, ids[i++ % kSample]);
    if (!loc.ok() || loc->has_value() != stored) {
      state.SkipWithError(loc.ok() ? "unexpected lookup result" : loc.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(loc);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_IndexLookupHit(benchmark::State& state) { Lookup(state, true); }
BENCHMARK(BM_IndexLookupHit)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_IndexLookupMiss(benchmark::State& state) { Lookup(state, false); }
BENCHMARK(BM_IndexLookupMiss)->Threads(1)->Threads(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cairn
