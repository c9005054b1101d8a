#pragma once
// A publisher's input into a room pipeline: webrtcbin (the WHIP offer and
// answer, ICE), the RTP depayloaded and parsed into H.264 (byte-stream, AU)
// and Opus, keyframe requests to the publisher (RTCP PLI) and the health of
// their media (first video, timeouts, a failed connection).
//
// Threads: control thread. webrtcbin's signals and promises, pad-added and
// the pad probes run on streaming threads; they copy what they need and post
// a task through Post, which reaches this object only while its session
// exists (see MediaService::postFor).

#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/result.h"
#include "media/gst_ptr.h"
#include "media/media_options.h"
#include "media/sdp.h"

namespace jobcast::media {

struct PublisherGop;  // the publisher's keyframes on its own media clock

class Ingest {
 public:
  enum class State {
    Negotiating,  // the offer is in, no answer yet
    Answered,     // the answer is out (or an error instead); no media yet
    Flowing,      // the publisher's video arrived
    Lost,         // the publisher is gone (Events::gone)
    Stopped,      // stop(): nothing more is reported
  };
  // Control thread.
  struct Events {
    std::function<void(Result<std::string> answer_sdp)> answer;
    std::function<void()> flowing;
    std::function<void(const std::string& reason)> gone;
  };
  // Posts a task for this ingest to the control thread (skipped once its
  // session is gone). Safe from any thread.
  using Post = std::function<void(std::function<void(Ingest&)>)>;

  Ingest(Loop& loop, GstBin* pipeline, const MediaOptions& options, std::string room,
         std::string session, Events events, Post post);
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // Adds webrtcbin, the depayloaders and parsers to the pipeline.
  Result<bool> build();
  // The publisher's H.264 (a capsfilter's src) and Opus (the depayloader's src).
  GstElement* videoOut() const { return video_out_; }
  GstElement* audioOut() const { return audio_out_; }

  // Sets the pipeline PLAYING and starts negotiation with the offer (already checked).
  void negotiate(SdpPtr offer, std::vector<OfferedMedia> media);
  // RTCP PLI to the publisher.
  void requestKeyframe();
  // The pipeline failed: an error answer if none went out yet, and lost.
  void fail(const std::string& error);
  // Timers off, no more events.
  void stop();
  State state() const { return state_; }

  // Control-thread continuations of GStreamer callbacks (posted).
  void onRemoteDescriptionSet(bool ok, std::string error);
  void onAnswerCreated(std::string sdp, std::string error);
  void onGatheringState(int state);
  void onIncomingPad(std::shared_ptr<GstPad> pad, std::string kind, gulong probe);
  void onConnectionState(int state);

 private:
  GstElement* add(const char* factory, const char* name = nullptr);
  void finishAnswer();
  void checkMedia();
  void lose(const std::string& reason);
  // Lets the publisher session's RTCP feedback out every 300 ms; false before
  // webrtcbin has made the session.
  bool lowerRtcpInterval();

  Loop& loop_;
  GstBin* pipeline_;
  MediaOptions options_;
  std::string room_;
  std::string session_;
  Events events_;
  Post post_;
  State state_ = State::Negotiating;

  GstElement* webrtc_ = nullptr;    // owned by the pipeline
  GstElement* video_in_ = nullptr;  // the depayloaders, until the publisher's pads link
  GstElement* audio_in_ = nullptr;
  GstElement* video_out_ = nullptr;
  GstElement* audio_out_ = nullptr;
  std::vector<OfferedMedia> media_;
  std::map<guint, CapsPtr> preferences_;  // m-line -> codec preference
  std::shared_ptr<std::atomic<int64_t>> last_video_ms_;
  std::shared_ptr<PublisherGop> gop_;
  std::optional<uint32_t> last_keyframe_ask_rtp_;
  bool rtcp_interval_lowered_ = false;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  Timer health_timer_;
  Timer gather_timer_;
  Timer keyframe_timer_;
  guint video_ssrc_ = 0;
  guint video_payload_ = 0;  // the publisher's H.264 payload type, for PLI
};

}  // namespace jobcast::media
