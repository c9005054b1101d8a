#include "media/keyframe_gate.h"

namespace jobcast::media {

KeyframeGate::Decision KeyframeGate::request(Clock::time_point now) {
  if (pending_) {
    ++merged_;
    return Decision::Merged;
  }
  if (!last_sent_ || now - *last_sent_ >= min_interval_) {
    last_sent_ = now;
    ++forwarded_;
    return Decision::Forward;
  }
  pending_ = true;
  return Decision::Deferred;
}

bool KeyframeGate::fireDue(Clock::time_point now) {
  if (!pending_ || (last_sent_ && now - *last_sent_ < min_interval_))
    return false;
  pending_ = false;
  last_sent_ = now;
  ++forwarded_;
  return true;
}

std::optional<KeyframeGate::Clock::time_point> KeyframeGate::pendingAt() const {
  if (!pending_)
    return std::nullopt;
  return last_sent_ ? *last_sent_ + min_interval_ : Clock::time_point{};
}

}  // namespace jobcast::media
