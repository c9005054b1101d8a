#include "core/loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace jobcast {
namespace {

TEST(Loop, PostFromAnotherThreadRunsOnTheLoopThread) {
  Loop loop;
  std::atomic<bool> on_loop_thread{false};
  std::thread worker([&] {
    EXPECT_FALSE(loop.isThreadSafe());
    loop.post([&] {
      on_loop_thread = loop.isThreadSafe();
      loop.quit();
    });
  });
  loop.run();
  worker.join();
  EXPECT_TRUE(on_loop_thread);
}

// GLib calls posted tasks and timers: an exception from one (a bug) stays at
// that edge and the loop keeps running the others.
TEST(Loop, ATaskOrTimerThatThrowsDoesNotStopTheLoop) {
  Loop loop;
  bool next_task_ran = false;
  loop.post([] { throw std::logic_error("bug"); });
  loop.post([&] { next_task_ran = true; });
  int timer_runs = 0;
  Timer timer;
  timer.start(loop, std::chrono::milliseconds(1), [&]() -> bool {
    if (++timer_runs == 1)
      throw std::runtime_error("bug");
    loop.quit();
    return false;
  });
  loop.run();
  EXPECT_TRUE(next_task_ran);
  EXPECT_EQ(timer_runs, 2);  // the throwing tick kept its schedule
}

TEST(Loop, TimersRepeatUntilTheyReturnFalseAndCancelOnDestruction) {
  Loop loop;
  int ticks = 0;
  Timer repeating;
  repeating.start(loop, std::chrono::milliseconds(5), [&] {
    ++ticks;
    if (ticks == 3) {
      loop.quit();
      return false;
    }
    return true;
  });
  int cancelled_calls = 0;
  {
    Timer doomed;
    doomed.start(loop, std::chrono::milliseconds(1), [&] {
      ++cancelled_calls;
      return false;
    });
  }
  loop.run();
  EXPECT_EQ(ticks, 3);
  EXPECT_FALSE(repeating.active());
  EXPECT_EQ(cancelled_calls, 0);
}

TEST(Loop, TimerMayRestartItselfFromItsCallback) {
  Loop loop;
  Timer t;
  int calls = 0;
  std::function<bool()> fn = [&]() -> bool {
    if (++calls < 3) {
      t.start(loop, std::chrono::milliseconds(1), fn);
    } else {
      loop.quit();
    }
    return false;
  };
  t.start(loop, std::chrono::milliseconds(1), fn);
  loop.run();
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace jobcast
