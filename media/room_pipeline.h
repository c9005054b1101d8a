#pragma once
// One room's live pipeline while a publisher is on stage:
//
//   webrtcbin ─ rtph264depay ─ h264parse ─ tee "publisher-video" ─ input-selector ─ tee
//   "programme-video"
//            │                                    (└ decode ─ StageMixer, with guests) │   (H.264)
//            │                                                                    ├─ hlssink2
//            "source" │                              ├─ avdec_h264 ─ scale ─ x264enc ─ hlssink2
//            "360p" │                              └─ splitmuxsink (MP4 recording) └ rtpopusdepay ─
//            tee "publisher-opus" ─ input-selector ─ tee "programme-opus"
//                       ─ opusdec ─ voaacenc ─ tee "programme-aac"
//                                                   (AAC once, into every hlssink2 and the MP4)
//
// The selectors pass the publisher through while the main publisher is alone,
// and switch to the StageMixer's composite (encoded once) while guests are on
// stage: everything downstream (HLS, recording, WHEP) follows without restart.
// A guest (Role::Guest) gets a pipeline of its own that only decodes: its
// picture and sound go to inter channels the main pipeline's mixer reads.
//
// Its public methods run on the control thread. GStreamer calls its callbacks on
// streaming threads; those copy what they need and post a task to the control
// thread through `post`, keyed by the session id (see media_service.cpp), never
// holding a pointer to this object. docs/media.md says where a guest publisher
// (compositor) and per-viewer WHEP branches join.

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/result.h"
#include "media/gst_ptr.h"
#include "media/hls_ladder.h"
#include "media/hls_store.h"
#include "media/media_options.h"
#include "media/programme_switch.h"
#include "media/recorder.h"
#include "media/sdp.h"

namespace jobcast::media {

class TeardownWorker;

struct PublisherGop;  // the publisher's keyframes on its own media clock

class RoomPipeline {
 public:
  // All run on the control thread.
  struct Events {
    std::function<void(Result<std::string> answer_sdp)> answer;
    std::function<void(const std::string& rendition, double seconds,
                       std::shared_ptr<const std::string> bytes, const VideoFormat& format)>
        segment;
    std::function<void(const std::string& reason)> gone;  // the publisher is lost
    std::function<void(const RecordingPiece& piece)> recording_closed;
    std::function<void()> flowing;  // the publisher's video first arrived
  };
  // Posts a task for this pipeline to the control thread; the task is skipped
  // when the session no longer exists. Safe from any thread.
  using Post = std::function<void(std::function<void(RoomPipeline&)>)>;

  enum class Role { Publisher, Guest };
  struct Setup {
    Role role = Role::Publisher;
    std::string stage_channel;  // Guest: inter channels "<channel>-v" and "<channel>-a"
    std::string room;
    std::string session;
    std::string recording_dir;            // empty: no recording
    std::vector<std::string> renditions;  // "source", "360p", "audio"
  };

  // `worker` takes the pipeline and its parts down; it outlives the pipeline.
  static Result<std::unique_ptr<RoomPipeline>> create(Loop& loop, TeardownWorker& worker,
                                                      const MediaOptions& options, Setup setup,
                                                      Events events, Post post);
  ~RoomPipeline();
  RoomPipeline(const RoomPipeline&) = delete;
  RoomPipeline& operator=(const RoomPipeline&) = delete;

  // Starts negotiation with the publisher's offer (already checked).
  void negotiate(SdpPtr offer, std::vector<OfferedMedia> media);
  // Finishes the recording (EOS, with a watchdog) and stops the pipeline; `done`
  // runs on the control thread afterwards. Safe to call more than once.
  void stop(std::function<void()> done);

  const std::string& session() const { return setup_.session; }
  // For WHEP (media/room_programmes.*): the pipeline, the programme's tees
  // (H.264 and Opus, null after stop), and a keyframe request to the publisher.
  GstElement* pipeline() const { return pipeline_.get(); }
  GstElement* programmeVideoTee() const { return pipeline_ ? video_tee_ : nullptr; }
  GstElement* programmeOpusTee() const { return pipeline_ ? opus_tee_ : nullptr; }
  // Passthrough: RTCP to the publisher; composite: to the mixer's encoder.
  void askKeyframe();
  // Where the session is. Later states come later; Lost may be skipped.
  enum class State {
    Negotiating,  // the offer is in, no answer yet
    Answered,     // the answer is out (or an error instead); no media yet
    Flowing,      // the publisher's video arrived (Events::flowing)
    Lost,         // the publisher is gone (Events::gone); stop() follows
    Stopping,     // stop(): the recording closes its piece
    GoingNull,    // the teardown worker takes the pipeline to NULL
    Stopped,      // references released, stop()'s waiters ran
  };
  State state() const { return state_; }
  bool mediaFlowing() const { return state_ == State::Flowing; }

  // Someone beside the main publisher, as the stage mixer takes them.
  using StageInput = ProgrammeSwitch::StageInput;
  // Makes the programme match the stage: passthrough with no inputs; else the
  // composite (guests as PiP tiles) and, with an interpreter, the interpreter
  // variant with its own HLS rendition "interpreter". Publisher role only.
  void setStage(const std::string& main_caption, const std::vector<StageInput>& inputs);
  bool composite() const {
    return switch_ && switch_->state() == ProgrammeSwitch::State::Composite;
  }
  // The interpreter variant's H.264 (for WHEP), or null.
  GstPad* interpreterVideo() const;

  // Control-thread continuations of GStreamer callbacks (posted by session id).
  void onRemoteDescriptionSet(bool ok, std::string error);
  void onAnswerCreated(std::string sdp, std::string error);
  void onGatheringState(int state);
  void onIncomingPad(std::shared_ptr<GstPad> pad, std::string kind, gulong probe);
  void onConnectionState(int state);
  void finishStop();

 private:
  RoomPipeline(Loop& loop, TeardownWorker& worker, const MediaOptions& options, Setup setup,
               Events events, Post post);
  Result<bool> build();
  Result<bool> buildGuestOutputs(GstElement* audio_raw);
  void releaseAll();
  // Control thread, once the pipeline reached NULL off it: the rest of stop().
  void afterNull();
  GstElement* add(const char* factory, const char* name = nullptr);

  void finishAnswer();
  bool onBusMessage(GstMessage* message);
  bool stopping() const { return state_ >= State::Stopping; }
  void checkMedia();
  void lose(const std::string& reason);
  void requestKeyframe();
  // Lets the publisher session's RTCP feedback out every 300 ms; false before
  // webrtcbin has made the session.
  bool lowerRtcpInterval();

  Loop& loop_;
  TeardownWorker& worker_;
  MediaOptions options_;
  Setup setup_;
  Events events_;
  Post post_;

  PipelinePtr pipeline_;
  GstElement* webrtc_ = nullptr;    // owned by pipeline_
  GstElement* video_in_ = nullptr;  // the depayloaders, until the publisher's pads link
  GstElement* audio_in_ = nullptr;
  GstElement* video_tee_ = nullptr;  // "programme-video"
  GstElement* opus_tee_ = nullptr;   // "programme-opus"
  GstElement* aac_tee_ = nullptr;
  std::unique_ptr<ProgrammeSwitch> switch_;  // Publisher role
  std::unique_ptr<HlsLadder> ladder_;        // Publisher role
  std::unique_ptr<Recorder> recorder_;       // Publisher role, when recording
  SourcePtr bus_watch_;

  std::vector<OfferedMedia> media_;
  std::map<guint, CapsPtr> preferences_;  // m-line -> codec preference
  State state_ = State::Negotiating;
  std::vector<std::function<void()>> stop_waiters_;
  std::shared_ptr<std::atomic<int64_t>> last_video_ms_;
  std::shared_ptr<PublisherGop> gop_;
  std::optional<uint32_t> last_keyframe_ask_rtp_;
  bool rtcp_interval_lowered_ = false;
  std::chrono::steady_clock::time_point created_ = std::chrono::steady_clock::now();
  Timer health_timer_;
  Timer gather_timer_;
  Timer stop_timer_;
  Timer keyframe_timer_;
  guint video_ssrc_ = 0;
  guint video_payload_ = 0;  // the publisher's H.264 payload type, for PLI
  VideoFormat source_format_;
  VideoFormat low_format_;
};

}  // namespace jobcast::media
