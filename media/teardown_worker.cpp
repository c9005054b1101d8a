// work() runs on the worker's own thread; run() and pending() on any thread.

#include "media/teardown_worker.h"

namespace jobcast::media {

TeardownWorker::TeardownWorker() : thread_([this] { work(); }) {}

TeardownWorker::~TeardownWorker() {
  {
    std::lock_guard lock(mutex_);
    quitting_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void TeardownWorker::run(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

size_t TeardownWorker::pending() const {
  std::lock_guard lock(mutex_);
  return jobs_.size() + running_;
}

void TeardownWorker::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return quitting_ || !jobs_.empty(); });
    if (jobs_.empty())
      return;  // quitting, and nothing left to take down
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();
    job = nullptr;  // references it holds go on this thread too
    lock.lock();
    --running_;
  }
}

}  // namespace jobcast::media
