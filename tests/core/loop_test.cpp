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

// Time moves only when the test advances the loop's ManualClock: each tick is
// checked at the moment it is due, not after a sleep.
TEST(Loop, TimersRepeatUntilTheyReturnFalseAndCancelOnDestruction) {
  ManualClock clock;
  Loop loop(clock);
  int ticks = 0;
  Timer repeating;
  repeating.start(loop, std::chrono::milliseconds(5), [&] {
    ++ticks;
    return ticks < 3;
  });
  int cancelled_calls = 0;
  {
    Timer doomed;
    doomed.start(loop, std::chrono::milliseconds(1), [&] {
      ++cancelled_calls;
      return false;
    });
  }
  loop.drain();
  EXPECT_EQ(ticks, 0);
  clock.advance(std::chrono::milliseconds(4));
  loop.drain();
  EXPECT_EQ(ticks, 0);  // not due yet
  for (int expected = 1; expected <= 3; ++expected) {
    clock.advance(std::chrono::milliseconds(1));
    loop.drain();
    EXPECT_EQ(ticks, expected);
    EXPECT_EQ(repeating.active(), expected < 3);
    clock.advance(std::chrono::milliseconds(4));
    loop.drain();
    EXPECT_EQ(ticks, expected);  // the next tick is a whole period away
  }
  clock.advance(std::chrono::seconds(10));
  loop.drain();
  EXPECT_EQ(ticks, 3);  // it returned false: no more ticks
  EXPECT_EQ(cancelled_calls, 0);
}

TEST(Loop, ItsClockIsTheOneGiven) {
  ManualClock clock;
  Loop loop(clock);
  auto start = loop.now();
  clock.advance(std::chrono::seconds(3));
  EXPECT_EQ(loop.now() - start, std::chrono::seconds(3));
  Loop real;
  EXPECT_EQ(&real.clock(), &Clock::system());
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
