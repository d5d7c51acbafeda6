#include "common/task_group.h"

namespace cairn {

TaskGroup::TaskGroup(int threads, int queue_capacity)
    : capacity_(static_cast<size_t>(queue_capacity < 1 ? 1 : queue_capacity)) {
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Worker(); });
}

TaskGroup::~TaskGroup() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : threads_) t.join();
}

void TaskGroup::Submit(std::function<Status()> task) {
  std::unique_lock<std::mutex> l(mu_);
  cv_space_.wait(l, [&] { return queue_.size() < capacity_; });
  queue_.push_back(std::move(task));
  cv_work_.notify_one();
}

Status TaskGroup::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  cv_idle_.wait(l, [&] { return queue_.empty() && running_ == 0; });
  return first_error_;
}

Status TaskGroup::error() {
  std::lock_guard<std::mutex> l(mu_);
  return first_error_;
}

void TaskGroup::Worker() {
  for (;;) {
    std::function<Status()> task;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_work_.wait(l, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    cv_space_.notify_one();
    Status s = task();
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!s.ok() && first_error_.ok()) first_error_ = s;
      --running_;
      if (queue_.empty() && running_ == 0) cv_idle_.notify_all();
    }
  }
}

int DefaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : static_cast<int>(n);
}

}  // namespace cairn
