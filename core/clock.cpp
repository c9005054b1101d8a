#include "core/clock.h"

namespace jobcast {
namespace {

class SystemClock : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  GSource* timeoutSource(std::chrono::milliseconds delay) override {
    return g_timeout_source_new(static_cast<guint>(delay.count()));
  }
};

// A GSource on a ManualClock: ready when the clock has reached its deadline.
// It never wakes the loop by itself (timeout -1): time moves only in advance().
struct ManualSource {
  GSource base;
  const ManualClock* clock;
  Clock::TimePoint deadline;
  std::chrono::milliseconds interval;
};

gboolean manualReady(GSource* source) {
  auto* s = reinterpret_cast<ManualSource*>(source);
  return s->clock->now() >= s->deadline;
}

GSourceFuncs kManualFuncs = {
    [](GSource* source, gint* timeout) -> gboolean {
      *timeout = -1;
      return manualReady(source);
    },
    manualReady,
    [](GSource* source, GSourceFunc callback, gpointer data) -> gboolean {
      if (!callback)
        return G_SOURCE_REMOVE;
      gboolean again = callback(data);
      auto* s = reinterpret_cast<ManualSource*>(source);
      s->deadline = s->clock->now() + s->interval;
      return again;
    },
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

Clock& Clock::system() {
  static SystemClock clock;
  return clock;
}

GSource* ManualClock::timeoutSource(std::chrono::milliseconds delay) {
  GSource* source = g_source_new(&kManualFuncs, sizeof(ManualSource));
  auto* s = reinterpret_cast<ManualSource*>(source);
  s->clock = this;
  s->deadline = now_ + delay;
  s->interval = delay;
  return source;
}

}  // namespace jobcast
