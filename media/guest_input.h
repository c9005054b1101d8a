#pragma once
// A guest's input to the stage (counsellor, interpreter): their H.264 and
// raw audio, decoded once, into the inter channels "<channel>-v" and
// "<channel>-a" that the room pipeline's ProgrammeSwitch reads with
// intervideosrc / interaudiosrc. Lives in the guest's own pipeline.
//
// Threads: control thread; a buffer probe (streaming thread) only flips an
// atomic when the first decoded picture reaches the channel.

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <string>

#include "core/result.h"

namespace jobcast::media {

class GuestInput {
 public:
  enum class State {
    Waiting,  // built, no decoded picture in the channel yet
    Feeding,  // pictures reach the channel
  };

  GuestInput(GstBin* pipeline, std::string channel);
  GuestInput(const GuestInput&) = delete;
  GuestInput& operator=(const GuestInput&) = delete;

  // From the guest's H.264 tee and their decoded audio (raw, 48 kHz stereo).
  Result<bool> build(GstElement* video_tee, GstElement* audio_raw);
  State state() const {
    return feeding_->load(std::memory_order_acquire) ? State::Feeding : State::Waiting;
  }

 private:
  GstElement* add(const char* factory);

  GstBin* pipeline_;
  std::string channel_;
  std::shared_ptr<std::atomic<bool>> feeding_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace jobcast::media
