#include "core/worker_pool.h"

#include <algorithm>

namespace jobcast {

WorkerPool::WorkerPool(int helpers) {
  for (int i = 0; i < helpers; ++i)
    threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : threads_)
    t.join();
}

int WorkerPool::helpersFor(int requested) {
  if (requested > 0)
    return requested - 1;
  int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores - 1, 0, 7);
}

void WorkerPool::runChunks() {
  while (true) {
    size_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
    if (begin >= n_)
      return;
    (*fn_)(begin, std::min(n_, begin + chunk_));
  }
}

void WorkerPool::forEach(size_t n, const Range& fn, size_t chunk, size_t min_parallel) {
  if (n == 0)
    return;
  chunk = std::max<size_t>(1, chunk);
  if (threads_.empty() || n < min_parallel || n <= chunk) {
    for (size_t b = 0; b < n; b += chunk)
      fn(b, std::min(n, b + chunk));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    chunk_ = chunk;
    next_.store(0, std::memory_order_relaxed);
    busy_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  start_.notify_all();
  runChunks();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [this] { return busy_ == 0; });
  fn_ = nullptr;
}

void WorkerPool::work() {
  uint64_t seen = 0;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
    }
    runChunks();
    std::lock_guard<std::mutex> lock(mutex_);
    if (--busy_ == 0)
      done_.notify_one();
  }
}

}  // namespace jobcast
