#pragma once
// This node's WHEP viewers: one WhepSession per viewer, found by session id;
// each room's programme feeds by variant ("" = the programme, "interpreter" =
// the programme with the interpreter's picture); the per-node viewer cap; and
// one KeyframeGate per feed so viewers cannot flood the publisher or encoder.
// Control thread only; sessions report back through events keyed by id.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/loop.h"
#include "core/result.h"
#include "media/keyframe_gate.h"
#include "media/programme_feed.h"
#include "media/whep_session.h"

namespace jobcast::media {

// Viewers served by the egress engine (media/egress/) instead of a
// webrtcbin each: it answers an offer at once and reports a viewer it lost.
// Control thread.
class EngineViewers {
 public:
  struct Added {
    uint64_t viewer = 0;
    std::string answer;  // SDP
  };
  virtual ~EngineViewers() = default;
  // Errors as ViewerOffer::parse, plus "unsupported_dtls", "media_failed".
  virtual Result<Added> add(ProgrammeFeed& feed, const std::string& offer) = 0;
  virtual void remove(uint64_t viewer) = 0;
  // Why the engine lost the viewer (consent expired, DTLS failed), if it did.
  virtual std::optional<std::string> lost(uint64_t viewer) = 0;
  // The feed is going away: stop reading it.
  virtual void feedEnded(ProgrammeFeed& feed) = 0;
  // Where viewers' keyframe requests (RTCP PLI/FIR) go, with the feed they
  // watch. `fn` runs on the engine's thread; nullptr: nowhere.
  virtual void onKeyframeRequest(std::function<void(ProgrammeFeed*)> fn) { (void)fn; }
};

class WhepEgress {
 public:
  struct Options {
    WhepSession::Options session;
    // Set: every viewer goes through this engine; unset: a webrtcbin each.
    std::shared_ptr<EngineViewers> engine;
    int max_viewers = 50;  // per node; beyond it viewers are sent to HLS
    std::chrono::milliseconds keyframe_interval{1000};
    std::chrono::milliseconds health_interval{1000};
    // The keyframe gates' clock; tests inject one. Default: steady_clock.
    std::function<KeyframeGate::Clock::time_point()> clock;
  };
  struct Created {
    std::string session_id;
    std::string answer;  // SDP
  };
  using CreatedCallback = std::function<void(Result<Created>)>;

  WhepEgress(Loop& loop, Options options);
  ~WhepEgress();
  WhepEgress(const WhepEgress&) = delete;
  WhepEgress& operator=(const WhepEgress&) = delete;

  // Makes a room's feed available to viewers (variant "" or "interpreter"), or
  // withdraws it (nullptr): that variant's viewers are released. The feed must
  // outlive its registration.
  void setFeed(const std::string& room, const std::string& variant, ProgrammeFeed* feed);
  bool hasFeed(const std::string& room, const std::string& variant = "") const;

  // Answers a viewer's offer. Errors: room_not_found, variant_unavailable,
  // viewer_limit, bad_sdp, unsupported_media, unsupported_codec, media_failed.
  // `owner`: the subject of the viewer's token, or "" for an anonymous viewer.
  void create(const std::string& room, const std::string& variant, const std::string& offer,
              CreatedCallback done, std::string owner = "");
  // Ends a session of `room`; false if there is no such session there.
  bool remove(const std::string& room, const std::string& session_id);
  // The owner given at create(); nullopt if there is no such session in `room`.
  std::optional<std::string> ownerOf(const std::string& room, const std::string& session_id) const;

  size_t viewers() const { return sessions_.size(); }
  size_t viewers(const std::string& room) const;
  int maxViewers() const { return options_.max_viewers; }
  // A viewer of (room, variant) asked for a keyframe: merged per feed by its
  // KeyframeGate, then sent to the feed.
  void requestKeyframe(const std::string& room, const std::string& variant);
  uint64_t keyframesForwarded() const { return keyframes_forwarded_; }
  uint64_t keyframesMerged() const { return keyframes_merged_; }
  uint64_t released(const std::string& reason) const;
  // Called when a session ends for any reason, with the reason.
  void onReleased(std::function<void(const std::string& room, const std::string& reason)> fn) {
    on_released_ = std::move(fn);
  }

 private:
  struct FeedEntry {
    ProgrammeFeed* feed = nullptr;
    KeyframeGate gate;
    Timer deferred;
  };
  struct SessionEntry {
    std::string room;
    std::string variant;
    std::string owner;                     // token subject, "" for anonymous viewers
    std::unique_ptr<WhepSession> session;  // webrtcbin viewers
    uint64_t engine_viewer = 0;            // engine viewers
    CreatedCallback done;                  // until the answer went out
    Timer gather_timer;
  };

  void onEvent(const WhepSession::Event& event);
  void answer(SessionEntry& entry, const std::string& sdp);
  void release(const std::string& session_id, const std::string& reason);
  void armDeferredKeyframe(const std::string& feed_key);
  KeyframeGate::Clock::time_point now() const {
    return options_.clock ? options_.clock() : KeyframeGate::Clock::now();
  }
  void checkHealth();
  static std::string key(const std::string& room, const std::string& variant) {
    return room + "\n" + variant;
  }

  Loop& loop_;
  Options options_;
  std::map<std::string, FeedEntry> feeds_;  // by key(room, variant)
  std::map<std::string, SessionEntry> sessions_;
  Timer health_timer_;
  uint64_t keyframes_forwarded_ = 0;
  uint64_t keyframes_merged_ = 0;
  std::map<std::string, uint64_t> released_;
  std::function<void(const std::string&, const std::string&)> on_released_;
  std::shared_ptr<WhepEgress*> self_;  // events hold a weak_ptr to this
};

}  // namespace jobcast::media
