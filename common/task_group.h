// A fixed set of worker threads running submitted tasks, with a bounded queue
// so a fast producer (the chunker) cannot run ahead of the workers and grow
// memory without limit. The first failing task's Status is kept; later tasks
// still run (they are cheap to let finish) but Wait() reports that first error.
// Thread safety: Submit may be called from several threads at once (CloseBehind's callers);
// Wait from one.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"

namespace cairn {

class TaskGroup {
 public:
  // threads >= 1; queue_capacity >= 1 tasks waiting beyond those running.
  TaskGroup(int threads, int queue_capacity);
  ~TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Blocks while the queue is full.
  void Submit(std::function<Status()> task);
  // Waits until every submitted task has finished; returns the first error.
  Status Wait();
  // The first error so far (OK if none), without waiting.
  Status error();

 private:
  void Worker();
  std::mutex mu_;
  std::condition_variable cv_work_, cv_space_, cv_idle_;
  std::deque<std::function<Status()>> queue_;  // GUARDED_BY(mu_)
  int running_ = 0;                            // GUARDED_BY(mu_)
  bool stop_ = false;                          // GUARDED_BY(mu_)
  Status first_error_;                         // GUARDED_BY(mu_)
  size_t capacity_;
  std::vector<std::thread> threads_;
};

// Number of worker threads to use when the user did not say: one per core.
int DefaultThreads();

}  // namespace cairn
