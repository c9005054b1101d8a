#include "core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace jobcast {
namespace {

// Every index exactly once, in ranges no longer than the chunk, round after
// round (the helpers must see each new loop and never an old one again).
TEST(WorkerPool, EachIndexRunsExactlyOnceInEveryLoop) {
  WorkerPool pool(3);
  ASSERT_EQ(pool.helpers(), 3);
  for (size_t n : {1u, 63u, 64u, 65u, 256u, 1000u, 10007u}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<size_t> longest{0};
      pool.forEach(
          n,
          [&](size_t b, size_t e) {
            ASSERT_LT(b, e);
            ASSERT_LE(e, n);
            size_t len = e - b;
            size_t seen = longest.load();
            while (len > seen && !longest.compare_exchange_weak(seen, len)) {
            }
            for (size_t i = b; i < e; ++i)
              hits[i].fetch_add(1);
          },
          32, 100);
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
      EXPECT_LE(longest.load(), 32u);
    }
  }
}

// Long loops are shared with the helpers; short ones stay on the caller.
TEST(WorkerPool, LongLoopsAreSharedShortOnesStayOnTheCaller) {
  WorkerPool pool(2);
  std::mutex m;
  std::set<std::thread::id> threads;
  auto record = [&](size_t, size_t) {
    // Slow enough that the helpers wake before the caller has done it all.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(m);
    threads.insert(std::this_thread::get_id());
  };
  pool.forEach(100, record, 1, 256);
  EXPECT_EQ(threads, std::set<std::thread::id>{std::this_thread::get_id()});
  threads.clear();
  pool.forEach(600, record, 1, 256);
  EXPECT_GT(threads.size(), 1u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 1u);
}

TEST(WorkerPool, WithoutHelpersTheCallerDoesItAll) {
  WorkerPool pool(0);
  size_t sum = 0;
  pool.forEach(10000, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i)
      sum += i;
  });
  EXPECT_EQ(sum, 10000u * 9999u / 2);
  EXPECT_EQ(WorkerPool::helpersFor(3), 2);
  EXPECT_GE(WorkerPool::helpersFor(0), 0);
  EXPECT_LE(WorkerPool::helpersFor(0), 7);
}

}  // namespace
}  // namespace jobcast
