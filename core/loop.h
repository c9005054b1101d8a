#pragma once
// The control thread's event loop: one GMainContext that libwebsockets, hiredis,
// timers and the GStreamer bus watches all attach to. Everything that is not media
// data runs on the thread that calls run().

#include <glib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "core/clock.h"

namespace jobcast {

class Loop;

// A one-shot or repeating timer attached to a Loop, on the loop's clock.
// Destroying it cancels it.
class Timer {
 public:
  Timer() = default;
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  Timer(Timer&& other) noexcept;
  Timer& operator=(Timer&& other) noexcept;

  // Calls fn after `delay`; again every `delay` while fn returns true.
  void start(Loop& loop, std::chrono::milliseconds delay, std::function<bool()> fn);
  void cancel();
  bool active() const { return source_ != nullptr; }

 private:
  struct State;
  GSource* source_ = nullptr;
  std::shared_ptr<State> state_;
};

class Loop {
 public:
  // The loop belongs to the thread that constructs it. Its timers run on
  // `clock` (tests pass a ManualClock), which must outlive it.
  explicit Loop(Clock& clock = Clock::system());
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  GMainContext* context() const { return context_; }
  GMainLoop* mainLoop() const { return loop_; }
  Clock& clock() const { return clock_; }
  Clock::TimePoint now() const { return clock_.now(); }

  // Runs until quit(). Must be called from the owning thread.
  void run();
  void quit();
  // Runs ready sources without blocking; for teardown and tests.
  void drain(int max_iterations = 100);

  // Queues fn to run on the loop thread. Safe from any thread.
  void post(std::function<void()> fn);
  // True when called from the loop's own thread.
  bool isThreadSafe() const { return std::this_thread::get_id() == owner_; }

  // Attaches a GSource to this loop's context (never the default context).
  guint attach(GSource* source) { return g_source_attach(source, context_); }

 private:
  Clock& clock_;
  GMainContext* context_;
  GMainLoop* loop_;
  std::thread::id owner_;
};

}  // namespace jobcast

// Domain entry points assert they run on the control thread.
#define JOBCAST_ASSERT_LOOP_THREAD(loop) g_assert((loop).isThreadSafe())
