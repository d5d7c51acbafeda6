// Chunking throughput: FindBoundary over a random buffer, the way the backup
// path drives it. Random data is the worst case (no early cuts from structure)
// and the one the throughput target is stated for.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "chunker/fastcdc.h"

namespace cairn {
namespace {

Bytes RandomBuffer(size_t n) {
  Bytes b(n);
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b[i] = static_cast<uint8_t>(x >> 56);
  }
  return b;
}

void ChunkBuffer(benchmark::State& state, const ChunkerParams& params) {
  static const Bytes data = RandomBuffer(64u << 20);
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  const GearTable gear = GearTable::FromKey(ByteView(key, sizeof(key)));
  size_t chunks = 0;
  for (auto _ : state) {
    ByteView rest(data);
    while (!rest.empty()) {
      size_t len = FindBoundary(gear, params, rest);
      rest = rest.subspan(len);
      ++chunks;
    }
    benchmark::DoNotOptimize(chunks);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["avg_chunk_bytes"] =
      static_cast<double>(state.iterations() * data.size()) / static_cast<double>(chunks);
}

void BM_ChunkDefault(benchmark::State& state) { ChunkBuffer(state, ChunkerParams::Default()); }
BENCHMARK(BM_ChunkDefault)->Unit(benchmark::kMillisecond);

void BM_ChunkSmall(benchmark::State& state) {
  ChunkerParams p;
  p.min_size = 2u << 10;
  p.avg_size = 8u << 10;
  p.max_size = 32u << 10;
  ChunkBuffer(state, p);
}
BENCHMARK(BM_ChunkSmall)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cairn
