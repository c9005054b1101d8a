#pragma once
// A room pipeline's HLS renditions: "source" (the programme's H.264 as it
// is), "360p" (decoded, scaled, x264), "audio" (its own mono AAC at a low
// rate, cut into packed audio segments here: media/packed_audio.h), "ll" (the
// programme's H.264 and AAC as they are, cut into fMP4 parts for low-latency
// HLS by media/cmaf/ll_cutter.h behind two appsinks) and, while an
// interpreter is on stage, "interpreter" (the mixer's interpreter variant).
// Each ends in an hlssink2 whose muxer writes every segment straight into
// memory: its fragment streams are GMemoryOutputStreams handed out by the
// ladder (hlssink2's get-fragment-stream), so nothing touches the disk. A
// fragment becomes a segment once splitmuxsink has reported it closed (a bus
// message, control thread) and its sink has moved on to the next stream.
// Segments split at keyframes on the target duration (hlssink2's keyframe
// requests), and at once on a programme switch (splitNow).
//
// Threads: control thread, except the get-fragment-stream handler (a
// streaming thread), which only creates a stream and queues it under a lock,
// and the audio-only appsink's handler (a streaming thread), which cuts
// segments and posts each on the bus.
// Removed parts are stopped on the teardown worker.

#include <gst/gst.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/cmaf/ll_cutter.h"
#include "media/gst_ptr.h"
#include "media/media_options.h"

namespace jobcast::media {

class TeardownWorker;

struct VideoFormat {
  int width = 0;
  int height = 0;
  std::string codec;  // "avc1.42e01f"
};

class HlsLadder {
 public:
  enum class State {
    Idle,     // built, no segment yet
    Running,  // at least one segment out
    Stopped,  // stop(): segments still arriving are dropped
  };
  // Control thread.
  using Segment = std::function<void(const std::string& rendition, double seconds,
                                     std::shared_ptr<const std::string> bytes)>;

  // A part of the low-latency rendition ("ll"). Control thread.
  using PartFn = std::function<void(const std::string& rendition, const cmaf::Part& part)>;
  void onPart(PartFn fn) { part_ = std::move(fn); }

  // Builds the renditions inside `pipeline`, fed from the programme's H.264
  // tee and AAC tee.
  HlsLadder(GstBin* pipeline, TeardownWorker& worker, const MediaOptions& options, Segment segment);
  ~HlsLadder();
  HlsLadder(const HlsLadder&) = delete;
  HlsLadder& operator=(const HlsLadder&) = delete;

  // `pcm_tee`: the programme's sound before the shared AAC encoder (S16LE,
  // 48 kHz, stereo), for the audio-only rendition's own encoder.
  Result<bool> build(const std::vector<std::string>& renditions, GstElement* video_tee,
                     GstElement* aac_tee, GstElement* pcm_tee);
  // The interpreter rendition from the mixer's interpreter tee (idempotent).
  void addInterpreter(GstElement* variant_tee);
  void dropInterpreter();
  bool hasInterpreter() const { return interpreter_ != nullptr; }
  // Ends the segment in progress at the next keyframe of every video rendition.
  void splitNow();
  void stop() { state_ = State::Stopped; }
  State state() const { return state_; }

  // splitmuxsink's fragment messages, from the pipeline's bus watch; false
  // when the message is not the ladder's.
  bool onFragmentMessage(GstMessage* message);
  // The 360p rendition's H.264 (constrained baseline, a keyframe every
  // segment), for the WHEP "360p" variant; null without that rendition.
  GstPad* lowVideo() const { return low_src_.get(); }
  // The encoded picture of a rendition ("source", "360p"), for the playlist.
  VideoFormat format(const std::string& rendition) const;

  struct Fragments;   // a rendition's open fragment streams, shared with its hlssink2
  struct LowLatency;  // the "ll" rendition's cutter, shared with its two appsinks

 private:
  struct Rendition {
    GstElement* sink = nullptr;  // hlssink2, owned by the pipeline
    std::shared_ptr<Fragments> fragments;
    GstClockTime opened = GST_CLOCK_TIME_NONE;
    std::deque<double> closed;  // durations of closed fragments not taken yet
  };
  struct Interpreter {
    std::vector<GstElement*> elements;  // queues and the hlssink2
    GstPtr<GstPad> video_tee_pad;       // on the mixer's interpreter tee
    GstPtr<GstPad> audio_tee_pad;       // on aac_tee_
  };

  GstElement* add(const char* factory, const char* name = nullptr);
  GstElement* sink(const std::string& rendition);
  Result<bool> buildPackedAudio(GstElement* pcm_tee);
  Result<bool> buildLowLatency();

  GstBin* pipeline_;
  TeardownWorker& worker_;
  MediaOptions options_;
  Segment segment_;
  State state_ = State::Idle;
  GstElement* video_tee_ = nullptr;
  GstElement* aac_tee_ = nullptr;
  GstElement* low_parse_ = nullptr;  // the 360p encoder's parser
  GstPtr<GstPad> low_src_;           // its source pad: the 360p H.264, for WHEP
  std::map<std::string, Rendition> renditions_;
  bool packed_audio_ = false;  // the audio-only rendition is built
  PartFn part_;
  std::shared_ptr<LowLatency> low_latency_;
  std::unique_ptr<Interpreter> interpreter_;
  GstPtr<GstPad> spare_aac_pad_;  // an AAC tee pad kept for the next interpreter
};

}  // namespace jobcast::media
