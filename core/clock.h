#pragma once
// Time as the control loop sees it: now() and timer sources. The loop's
// timers (core/loop.h Timer) and anything that measures intervals ask the
// loop's Clock, so a test can swap the wall clock for a ManualClock and move
// time itself instead of sleeping.

#include <glib.h>

#include <chrono>

namespace jobcast {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;

  // Monotonic time.
  virtual TimePoint now() const = 0;
  // A new GSource (one reference, for the caller) that dispatches `delay`
  // after now() and, while its callback returns true, every `delay` after that.
  virtual GSource* timeoutSource(std::chrono::milliseconds delay) = 0;

  // The real clock: std::chrono::steady_clock and GLib timeouts.
  static Clock& system();
};

// Time that moves only when the test says. Its timer sources are ready once
// now() reaches their deadline; they run at the loop's next iteration
// (Loop::drain after advance). Outlives every Loop and Timer that uses it.
// Control thread only.
class ManualClock : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(1)) : now_(start) {}
  TimePoint now() const override { return now_; }
  GSource* timeoutSource(std::chrono::milliseconds delay) override;
  void advance(std::chrono::milliseconds by) { now_ += by; }

 private:
  TimePoint now_;
};

}  // namespace jobcast
