#include "repo/fetch_plan.h"

#include <algorithm>
#include <chrono>

namespace cairn {

namespace {
uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

class StageTimer {
 public:
  explicit StageTimer(std::atomic<uint64_t>* sink) : sink_(sink), start_(NowNs()) {}
  ~StageTimer() {
    if (sink_) sink_->fetch_add(NowNs() - start_);
  }

 private:
  std::atomic<uint64_t>* sink_;
  uint64_t start_;
};
}  // namespace

void FetchPlan::Add(const BlobLocation& loc, BlobTarget target) {
  auto key = std::make_pair(loc.pack, loc.entry.offset);
  auto it = index_.find(key);
  if (it != index_.end() && blobs_[it->second].loc.entry.id == loc.entry.id) {
    blobs_[it->second].targets.push_back(target);
    return;
  }
  size_t slot = blobs_.size();
  blobs_.push_back(Wanted{loc, {target}});
  index_[key] = slot;
  by_pack_[loc.pack].emplace(loc.entry.offset, slot);
}

std::vector<FetchPlan::Run> FetchPlan::Runs() const {
  std::vector<Run> runs;
  for (const auto& [pack, offsets] : by_pack_) {
    Run run{pack, {}, 0, 0};
    uint64_t run_wanted = 0, run_waste = 0;  // bytes of wanted blobs / of gaps read through
    for (const auto& [offset, slot] : offsets) {
      const BlobEntry& e = blobs_[slot].loc.entry;
      uint64_t end = e.offset + e.length;
      uint64_t gap = e.offset > run.end ? e.offset - run.end : 0;
      // A gap is read through only while a run reads no more gap bytes than wanted ones: a full
      // restore (few, small gaps) still reads packs in long ranges, and a sparse one (a
      // rollback) reads at most twice what it needs.
      if (!run.slots.empty() &&
          (gap > kMaxGapBytes || run_waste + gap > run_wanted || end - run.start > kMaxReadBytes)) {
        runs.push_back(run);
        run.slots.clear();
      }
      if (run.slots.empty()) {
        run.start = e.offset;
        run.end = end;
        run_wanted = run_waste = 0;
      } else {
        run_waste += gap;
      }
      run.slots.push_back(slot);
      run_wanted += e.length;
      run.end = std::max(run.end, end);
    }
    if (!run.slots.empty()) runs.push_back(std::move(run));
  }
  // Longest first: one big blob (a changed chunk of a large file) read last would leave the
  // other workers idle while it is read, decrypted, decompressed and hashed alone. Stable, so
  // runs of equal length keep pack order.
  std::stable_sort(runs.begin(), runs.end(),
                   [](const Run& a, const Run& b) { return a.end - a.start > b.end - b.start; });
  return runs;
}

Status FetchPlan::Execute(Repository* repo, TaskGroup* pool, const Deliver& deliver,
                          const Damaged& damaged, FetchTimings* t) const {
  std::vector<Run> runs = Runs();
  for (const Run& run : runs) {
    // Stop early on a failed write, but only after running tasks are done with our state.
    if (!pool->error().ok()) break;
    pool->Submit([this, repo, &run, &deliver, &damaged, t]() -> Status {
      const Id& pack = run.pack;
      const uint64_t run_start = run.start, run_end = run.end;
      // One set of buffers per worker thread, reused range after range and blob after blob:
      // allocating each afresh zeroed it and faulted its pages in again, a fifth of a
      // rollback's fetch.
      thread_local Bytes range_buf, raw_buf;
      Status read = [&] {
        StageTimer timer(t ? &t->read_ns : nullptr);
        return repo->backend()->GetRangeInto({ObjectType::kData, pack.Hex()}, run_start,
                                             run_end - run_start, &range_buf);
      }();
      if (t) {
        t->range_reads.fetch_add(1);
        if (read.ok()) t->bytes_read.fetch_add(run_end - run_start);
      }
      for (size_t slot : run.slots) {
        const Wanted& w = blobs_[slot];
        const BlobEntry& e = w.loc.entry;
        std::string what = "pack " + pack.Hex() + ": blob " + e.id.Hex();
        Result<ByteView> plain = [&]() -> Result<ByteView> {
          if (!read.ok()) return read.WithContext("pack " + pack.Hex());
          std::span<uint8_t> envelope(range_buf.data() + (e.offset - run_start), e.length);
          Result<ByteView> stored = [&] {
            StageTimer timer(t ? &t->decrypt_ns : nullptr);
            return repo->sealer().OpenInPlace(envelope, BlobDomain(e.type));
          }();
          if (!stored.ok()) return stored.status().WithContext(what);
          Result<ByteView> raw = [&] {
            StageTimer timer(t ? &t->decompress_ns : nullptr);
            return DecompressBlobInto(e.compression, *stored, e.raw_length, &raw_buf);
          }();
          if (!raw.ok()) return raw.status().WithContext(what);
          StageTimer timer(t ? &t->verify_ns : nullptr);
          if (repo->hasher().Hash(*raw) != e.id)
            return Status::Corruption(what + ": content does not match its id");
          return raw;
        }();
        for (const BlobTarget& target : w.targets) {
          if (!plain.ok()) {
            damaged(target, plain.status());
            continue;
          }
          StageTimer timer(t ? &t->write_ns : nullptr);
          RETURN_IF_ERROR(deliver(target, *plain));
        }
      }
      return Status::OK();
    });
  }
  return pool->Wait();
}

}  // namespace cairn
