#include "repo/fetch_plan.h"

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

Status FetchPlan::Execute(Repository* repo, TaskGroup* pool, const Deliver& deliver,
                          const Damaged& damaged, FetchTimings* t) const {
  for (const auto& pack_entry : by_pack_) {
    // Plain names, not structured bindings: clang 14 cannot capture those in lambdas.
    const Id& pack = pack_entry.first;
    const auto& offsets = pack_entry.second;
    // Coalesce runs of nearby blobs into one range read.
    std::vector<size_t> run;
    uint64_t run_start = 0, run_end = 0;
    uint64_t run_wanted = 0, run_waste = 0;  // bytes of wanted blobs / of gaps read through
    auto flush = [&] {
      if (run.empty()) return;
      pool->Submit([this, repo, pack = pack, run, run_start, run_end, &deliver, &damaged, t]() -> Status {
        Result<Bytes> bytes = [&] {
          StageTimer timer(t ? &t->read_ns : nullptr);
          return repo->backend()->GetRange({ObjectType::kData, pack.Hex()}, run_start, run_end - run_start);
        }();
        if (t) {
          t->range_reads.fetch_add(1);
          if (bytes.ok()) t->bytes_read.fetch_add(bytes->size());
        }
        for (size_t slot : run) {
          const Wanted& w = blobs_[slot];
          const BlobEntry& e = w.loc.entry;
          std::string what = "pack " + pack.Hex() + ": blob " + e.id.Hex();
          Result<Bytes> plain = [&]() -> Result<Bytes> {
            if (!bytes.ok()) return bytes.status().WithContext("pack " + pack.Hex());
            ByteView envelope(bytes->data() + (e.offset - run_start), e.length);
            Result<Bytes> stored = [&] {
              StageTimer timer(t ? &t->decrypt_ns : nullptr);
              return repo->sealer().Open(envelope, BlobDomain(e.type));
            }();
            if (!stored.ok()) return stored.status().WithContext(what);
            Result<Bytes> raw = [&] {
              StageTimer timer(t ? &t->decompress_ns : nullptr);
              return DecompressBlob(e.compression, *stored, e.raw_length);
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
      run.clear();
    };
    for (const auto& [offset, slot] : offsets) {
      const BlobEntry& e = blobs_[slot].loc.entry;
      uint64_t end = e.offset + e.length;
      uint64_t gap = e.offset > run_end ? e.offset - run_end : 0;
      // A gap is read through only while a run reads no more gap bytes than wanted ones: a full
      // restore (few, small gaps) still reads packs in long ranges, and a sparse one (a
      // rollback) reads at most twice what it needs.
      if (!run.empty() && (gap > kMaxGapBytes || run_waste + gap > run_wanted || end - run_start > kMaxReadBytes))
        flush();
      if (run.empty()) {
        run_start = e.offset;
        run_end = end;
        run_wanted = run_waste = 0;
      } else {
        run_waste += gap;
      }
      run.push_back(slot);
      run_wanted += e.length;
      run_end = std::max(run_end, end);
    }
    flush();
    // Stop early on a failed write, but only after running tasks are done with our state.
    if (!pool->error().ok()) return pool->Wait();
  }
  return pool->Wait();
}

}  // namespace cairn
