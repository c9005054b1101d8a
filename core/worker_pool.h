#pragma once
// A few threads that help the calling thread through one loop at a time:
// forEach(n, fn) runs fn over [0, n) in chunks on the pool's threads and on
// the caller, and returns when every index is done. For work that is many
// short independent syscalls (a room's frame sent to thousands of sockets),
// where the caller may not go on before all are done anyway. One caller at a
// time; fn must not throw.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace jobcast {

class WorkerPool {
 public:
  using Range = std::function<void(size_t begin, size_t end)>;

  // `helpers` threads besides the caller (0: the caller alone).
  explicit WorkerPool(int helpers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // fn(begin, end) over [0, n) in chunks of at most `chunk`; loops shorter
  // than `min_parallel` run on the caller alone (waking helpers costs more).
  void forEach(size_t n, const Range& fn, size_t chunk = 64, size_t min_parallel = 256);
  int helpers() const { return static_cast<int>(threads_.size()); }

  // A helper count for `requested` (0: one per core beyond the caller's, at most 7).
  static int helpersFor(int requested);

 private:
  void work();
  void runChunks();

  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const Range* fn_ = nullptr;
  size_t n_ = 0;
  size_t chunk_ = 64;
  std::atomic<size_t> next_{0};
  uint64_t generation_ = 0;
  int busy_ = 0;  // helpers still in the current loop
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace jobcast
