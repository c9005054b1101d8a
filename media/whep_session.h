#pragma once
// One WHEP viewer: a webrtcbin (sendonly H.264 + Opus) in its own small
// pipeline, fed by reference from a room's ProgrammeFeed: payloading only, no
// decode or encode per viewer.
//
// Threads: start(), the destructor and the check functions run on the control
// thread. webrtcbin's signals, promise callbacks and pad probes run on
// GStreamer threads: they copy what they need and post an Event to the control
// loop carrying the session id; the owner looks the session up by id, so a
// late event for a session already gone is dropped, never dereferenced.

#include <gst/gst.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/result.h"
#include "media/gst_refs.h"
#include "media/programme_feed.h"

namespace jobcast::media {

// What a viewer's offer asked for, as far as we answer it.
struct ViewerOffer {
  struct Media {
    std::string kind;              // "video" or "audio"
    int payload = -1;              // the offer's payload type we send with
    std::string profile_level_id;  // H.264 only
    int rtx_payload = -1;          // video: the offer's RTX (RFC 4588) for `payload`, if any
  };
  std::vector<Media> media;  // in m-line order
  // Parses an SDP offer and picks, per m-line, the H.264 (packetization-mode 1,
  // closest to `profile_level_id` of the programme) or Opus payload type.
  // Errors: "bad_sdp", "unsupported_media", "unsupported_codec".
  static Result<ViewerOffer> parse(const std::string& sdp, const std::string& programme_profile);
};

class WhepSession {
 public:
  struct Options {
    std::string stun_server;                // stun://host:port, or empty
    std::vector<std::string> turn_servers;  // turn(s)://user:pass@host:port
    // Gather ICE candidates only on these local addresses; empty: every interface.
    std::vector<std::string> local_addresses;
    std::chrono::milliseconds gather_timeout{2000};    // answer with what was gathered by then
    std::chrono::milliseconds connect_timeout{15000};  // answer given, never connected
    std::chrono::milliseconds rtcp_timeout{10000};     // connected, no RTCP from the viewer
    std::chrono::milliseconds disconnect_grace{5000};  // ICE disconnected this long: gone
  };

  struct Event {
    enum class Kind { Answer, AnswerFailed, Connected, KeyframeRequest, Gone };
    Kind kind;
    std::string session_id;
    std::string text;  // Answer: the SDP; AnswerFailed and Gone: the reason
  };
  // Runs on the control thread; must stay callable after the session is gone.
  using EventSink = std::function<void(const Event&)>;

  enum class State { Negotiating, Connecting, Connected, Gone };

  // Builds the viewer's pipeline and starts answering `offer`; the answer
  // arrives later as an Answer event (candidates included).
  static Result<std::unique_ptr<WhepSession>> start(Loop& loop, std::string id, ProgrammeFeed& feed,
                                                    const std::string& offer,
                                                    const Options& options, EventSink sink);
  ~WhepSession();  // releases the webrtcbin and its pipeline
  WhepSession(const WhepSession&) = delete;
  WhepSession& operator=(const WhepSession&) = delete;

  const std::string& id() const { return id_; }
  State state() const { return state_; }

  // The answer with the candidates gathered so far, once webrtcbin has one and
  // it was not sent yet (for gathering that outlasts Options::gather_timeout).
  std::optional<std::string> answerNow();
  // Marks the transport up: media starts flowing from the next keyframe.
  void onConnected();
  // Why this viewer should be released now, if it should (timeouts, ICE loss).
  std::optional<std::string> checkHealth(std::chrono::steady_clock::time_point now);

  struct Shared;  // what GStreamer callbacks hold; defined in whep_session.cpp

 private:
  WhepSession(Loop& loop, std::string id, ProgrammeFeed& feed, Options options);
  Result<bool> build(const ViewerOffer& offer, const std::string& sdp, EventSink sink);

  Loop& loop_;
  std::string id_;
  ProgrammeFeed& feed_;
  Options options_;
  State state_ = State::Negotiating;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point connected_at_;
  ElementPtr pipeline_;
  GstElement* webrtc_ = nullptr;  // owned by pipeline_
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<ProgrammeFeed::Viewer> viewer_;
  GSource* bus_watch_ = nullptr;
};

const char* stateName(WhepSession::State state);

// Makes a webrtcbin gather ICE host candidates only on `addresses` (libnice
// uses every interface but loopback otherwise). Call before negotiation.
void restrictIceAddresses(GstElement* webrtcbin, const std::vector<std::string>& addresses);

}  // namespace jobcast::media
