#pragma once
// Merges keyframe requests from many viewers of one room into at most one
// upstream request per interval. Pure logic on the control thread; the caller
// passes the time, so tests drive it with a manual clock.

#include <chrono>
#include <cstdint>
#include <optional>

namespace jobcast::media {

class KeyframeGate {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Decision {
    Forward,   // send one upstream request now
    Deferred,  // too soon: one merged request is now pending for pendingAt()
    Merged,    // a request is already pending; this one rides on it
  };

  explicit KeyframeGate(std::chrono::milliseconds min_interval = std::chrono::seconds(1))
      : min_interval_(min_interval) {}

  // A viewer (or a new subscriber) asked for a keyframe at `now`.
  Decision request(Clock::time_point now);
  // True when the pending request is due at `now`; the caller then sends it
  // upstream. Clears the pending request.
  bool fireDue(Clock::time_point now);
  // When the pending merged request may be sent, if one is pending.
  std::optional<Clock::time_point> pendingAt() const;

  uint64_t forwarded() const { return forwarded_; }
  uint64_t merged() const { return merged_; }

 private:
  std::chrono::milliseconds min_interval_;
  std::optional<Clock::time_point> last_sent_;
  bool pending_ = false;
  uint64_t forwarded_ = 0;
  uint64_t merged_ = 0;
};

}  // namespace jobcast::media
