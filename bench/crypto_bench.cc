// Throughput of the per-blob pipeline stages: id, compress, seal, and back.
#include <benchmark/benchmark.h>

#include <string>

#include "store/compress.h"
#include "store/crypto.h"

namespace cairn {
namespace {

constexpr size_t kBlobBytes = 256 * 1024;

// Resembles a SQL dump: repetitive structure, varying numbers.
Bytes SqlDump(size_t n) {
  std::string s;
  s.reserve(n + 64);
  uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245 + 12345;
    uint32_t id = x % 1000000;
    s += "INSERT INTO t VALUES (" + std::to_string(id) + ", 'name-" + std::to_string(id) + "', " +
         std::to_string(x % 1000) + "." + std::to_string((x >> 10) % 100) + ");\n";
  }
  s.resize(n);
  return Bytes(s.begin(), s.end());
}

void SetBytes(benchmark::State& state, size_t per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(per_iteration));
}

void BM_IdHasher(benchmark::State& state) {
  IdHasher hasher(RandomKey());
  Bytes data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(hasher.Hash(data));
  SetBytes(state, data.size());
}
BENCHMARK(BM_IdHasher)->Arg(4096)->Arg(kBlobBytes);

void BM_Sha256(benchmark::State& state) {
  Bytes data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  SetBytes(state, data.size());
}
BENCHMARK(BM_Sha256)->Arg(4096)->Arg(kBlobBytes);

void BM_Seal(benchmark::State& state) {
  Sealer sealer(RandomKey(), true);
  Bytes data = RandomBytes(kBlobBytes);
  Bytes out;
  out.reserve(kBlobBytes + Sealer::kOverhead);
  for (auto _ : state) {
    out.clear();
    sealer.Seal(data, &out);
    benchmark::DoNotOptimize(out.data());
  }
  SetBytes(state, data.size());
}
BENCHMARK(BM_Seal);

void BM_Open(benchmark::State& state) {
  Sealer sealer(RandomKey(), true);
  Bytes env;
  sealer.Seal(RandomBytes(kBlobBytes), &env);
  for (auto _ : state) {
    auto plain = sealer.Open(env);
    if (!plain.ok()) state.SkipWithError("open failed");
    benchmark::DoNotOptimize(plain);
  }
  SetBytes(state, kBlobBytes);
}
BENCHMARK(BM_Open);

// Args: zstd level, 1 = SQL text / 0 = random bytes.
void BM_CompressBlob(benchmark::State& state) {
  int level = static_cast<int>(state.range(0));
  Bytes data = state.range(1) ? SqlDump(kBlobBytes) : RandomBytes(kBlobBytes);
  Bytes out;
  out.reserve(kBlobBytes);
  Compression method = Compression::kNone;
  for (auto _ : state) {
    out.clear();
    method = CompressBlob(data, level, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(out.size());
  state.SetLabel(method == Compression::kZstd ? "zstd" : "stored raw");
  SetBytes(state, data.size());
}
BENCHMARK(BM_CompressBlob)
    ->ArgNames({"level", "text"})
    ->Args({1, 1})
    ->Args({3, 1})
    ->Args({1, 0})
    ->Args({3, 0});

void BM_DecompressBlob(benchmark::State& state) {
  Bytes data = SqlDump(kBlobBytes);
  Bytes stored;
  if (CompressBlob(data, static_cast<int>(state.range(0)), &stored) != Compression::kZstd) {
    state.SkipWithError("test data did not compress");
    return;
  }
  for (auto _ : state) {
    auto raw = DecompressBlob(Compression::kZstd, stored, data.size());
    if (!raw.ok()) state.SkipWithError("decompress failed");
    benchmark::DoNotOptimize(raw);
  }
  SetBytes(state, data.size());
}
BENCHMARK(BM_DecompressBlob)->ArgName("level")->Arg(1)->Arg(3);

}  // namespace
}  // namespace cairn
