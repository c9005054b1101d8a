#pragma once
// One room's live pipeline while a publisher is on stage, composed of parts
// that each own one job:
//
//   Ingest           webrtcbin ─ rtph264depay ─ h264parse        (the publisher's H.264)
//                             └ rtpopusdepay                      (and Opus)
//   ProgrammeSwitch  tee "publisher-video/-opus" ─ input-selector ─ tee "programme-video/-opus"
//                    (└ decode ─ StageMixer, while guests are on stage ─┘)
//   (here)           programme Opus ─ opusdec ─ tee "programme-pcm" ─ voaacenc
//                    ─ tee "programme-aac" (AAC once)
//   HlsLadder        programme H.264 + AAC ─ hlssink2 "source" / "360p" (x264);
//                    programme PCM ─ mono AAC ─ packed audio "audio"; segments into memory
//   Recorder         programme H.264 + AAC ─ splitmuxsink (MP4 pieces on disk)
//
// The selectors pass the publisher through while the main publisher is alone,
// and switch to the StageMixer's composite (encoded once) while guests are on
// stage: everything downstream (HLS, recording, WHEP) follows without restart.
// A guest (Role::Guest) gets a pipeline of its own, Ingest and a GuestInput
// that only decodes: its picture and sound go to inter channels the main
// pipeline's mixer reads.
//
// Its public methods run on the control thread. GStreamer calls the parts'
// callbacks on streaming threads; those copy what they need and post a task
// to the control thread through `post`, keyed by the session id (see
// media_service.cpp), never holding a pointer to this object. Teardown runs
// on the TeardownWorker (docs/architecture.md, "Teardown").

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/result.h"
#include "media/gst_ptr.h"
#include "media/guest_input.h"
#include "media/hls_ladder.h"
#include "media/ingest.h"
#include "media/media_options.h"
#include "media/programme_switch.h"
#include "media/recorder.h"
#include "media/sdp.h"

namespace jobcast::media {

class TeardownWorker;

class RoomPipeline {
 public:
  // All run on the control thread.
  struct Events {
    std::function<void(Result<std::string> answer_sdp)> answer;
    std::function<void(const std::string& rendition, double seconds,
                       std::shared_ptr<const std::string> bytes, const VideoFormat& format)>
        segment;
    // A part of the low-latency rendition (control thread).
    std::function<void(const std::string& rendition, const cmaf::Part& part,
                       const VideoFormat& format)>
        part;
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
  // The pipeline's life; the publisher's is Ingest::State.
  enum class State {
    Running,    // built, negotiating or streaming
    Stopping,   // stop(): the recording closes its piece
    GoingNull,  // the teardown worker takes the pipeline to NULL
    Stopped,    // references released, stop()'s waiters ran
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
  State state() const { return state_; }
  // For WHEP (media/room_programmes.*): the pipeline, the programme's tees
  // (H.264 and Opus, null after stop), and a keyframe request to the publisher.
  GstElement* pipeline() const { return pipeline_.get(); }
  GstElement* programmeVideoTee() const { return pipeline_ ? video_tee_ : nullptr; }
  GstElement* programmeOpusTee() const { return pipeline_ ? opus_tee_ : nullptr; }
  // Passthrough: RTCP to the publisher; composite: to the mixer's encoder.
  void askKeyframe();
  bool mediaFlowing() const { return ingest_ && ingest_->state() == Ingest::State::Flowing; }

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
  // The HLS ladder's 360p H.264 (for WHEP), or null.
  GstPad* lowVideo() const { return ladder_ ? ladder_->lowVideo() : nullptr; }

  // Control thread, posted: the recording closed (or its watchdog), or no
  // recording: take the pipeline to NULL on the teardown worker.
  void finishStop();

 private:
  RoomPipeline(Loop& loop, TeardownWorker& worker, const MediaOptions& options, Setup setup,
               Events events, Post post);
  Result<bool> build();
  void releaseAll();
  // Control thread, once the pipeline reached NULL off it: the rest of stop().
  void afterNull();
  GstElement* add(const char* factory, const char* name = nullptr);
  bool onBusMessage(GstMessage* message);
  bool stopping() const { return state_ != State::Running; }

  Loop& loop_;
  TeardownWorker& worker_;
  MediaOptions options_;
  Setup setup_;
  Events events_;
  Post post_;
  State state_ = State::Running;

  PipelinePtr pipeline_;
  GstElement* video_tee_ = nullptr;  // "programme-video"
  GstElement* opus_tee_ = nullptr;   // "programme-opus"
  GstElement* aac_tee_ = nullptr;    // "programme-aac"
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<GuestInput> guest_;        // Guest role
  std::unique_ptr<ProgrammeSwitch> switch_;  // Publisher role
  std::unique_ptr<HlsLadder> ladder_;        // Publisher role
  std::unique_ptr<Recorder> recorder_;       // Publisher role, when recording
  SourcePtr bus_watch_;
  std::vector<std::function<void()>> stop_waiters_;
  Timer stop_timer_;
};

}  // namespace jobcast::media
