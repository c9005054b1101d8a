#pragma once
// The stage's composite programme: the main picture full-frame, up to two
// guests as picture-in-picture tiles with their names as captions, and the
// audio of all mixed; encoded once (x264 with pinned I420 / constrained
// baseline caps, Opus). While an interpreter is on stage it also encodes the
// interpreter variant: the same composite with the interpreter's picture as a
// PiP, for viewers who asked for it. Nothing of the variant runs otherwise.
//
// Threads: every method runs on the control thread, the destructor on the
// teardown worker (media/teardown_worker.h). Removing an input never waits:
// its chain is stopped on the teardown worker; for the interpreter, an IDLE
// probe on the raw tee's pad first unlinks the variant.

#include <gst/gst.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/gst_refs.h"
#include "rooms/stage_slot.h"

namespace jobcast::media {

class TeardownWorker;

class StageMixer {
 public:
  struct Options {
    int width = 1280;
    int height = 720;
    int fps = 30;
    int video_kbps = 1500;
    int key_interval_frames = 60;  // a keyframe every 2 s at 30 fps (HLS segments)
    int audio_bps = 64000;
  };
  using Slot = rooms::StageSlot;

  struct Rect {
    int x = 0, y = 0, width = 0, height = 0;
  };

  // Builds the mixer inside `parent` (a running pipeline or bin) and starts it.
  // `worker` takes removed parts down; it outlives the mixer.
  StageMixer(GstBin* parent, Options options, TeardownWorker& worker);
  ~StageMixer();  // removes every element it added
  StageMixer(const StageMixer&) = delete;
  StageMixer& operator=(const StageMixer&) = delete;

  // Links a participant's raw video (any size or format) and raw audio (may be
  // null) from upstream src pads, e.g. tee pads of a decoded publisher. At most
  // one Main, two Guests and one Interpreter. Errors: "stage_full", "exists",
  // "media_failed".
  Result<bool> addInput(const std::string& id, Slot slot, const std::string& caption, GstPad* video,
                        GstPad* audio);
  // Takes the input out of the programme at once; its pads are unlinked and
  // released and its chain stopped on the teardown worker (the interpreter's
  // once the variant's pad is idle). Upstream pads stay the caller's.
  void removeInput(const std::string& id);
  void setCaption(const std::string& id, const std::string& caption);

  // The encoded programme: H.264 (byte-stream, AU, SPS/PPS on each IDR) and Opus.
  GstPad* videoOut() const { return video_out_.get(); }
  GstPad* audioOut() const { return audio_out_.get(); }
  // The interpreter variant's H.264, or null while no interpreter is on stage.
  GstPad* interpreterVideoOut() const;
  // The tees behind those outputs, for consumers that link (request src_%u
  // pads; release them before the mixer or the interpreter goes).
  GstElement* videoTee() const { return video_tee_; }
  GstElement* audioTee() const { return audio_tee_; }
  GstElement* interpreterTee() const;
  bool hasInterpreter() const { return interpreter_ != nullptr; }
  size_t guests() const;

  // Where a slot's picture sits in the programme (guest index 0 or 1).
  static Rect place(const Options& options, Slot slot, int index = 0);

 private:
  struct Input {
    std::string id;
    Slot slot;
    std::vector<GstElement*> elements;  // owned by parent_
    GstElement* caption = nullptr;      // textoverlay
    PadPtr mixer_video_pad;             // request pad on the compositor
    PadPtr mixer_audio_pad;             // request pad on the audiomixer
    PadPtr upstream_video;
    PadPtr upstream_audio;
    PadPtr chain_video_sink;
    PadPtr chain_audio_sink;
  };
  struct Variant;  // the interpreter branch

  GstElement* add(const char* factory, const std::string& name = {});
  Result<bool> buildVideoChain(Input& input, GstElement* compositor, Rect rect, int zorder,
                               const std::string& caption);
  void layout();
  void release(Input& input, GstElement* compositor);
  static void releaseIn(GstBin* parent, GstElement* audiomixer, Input& input,
                        GstElement* compositor);
  // now: on the teardown worker already (the destructor), so unlink at once.
  void removeInterpreter(bool now);
  void dispose(std::vector<GstElement*>& elements);
  static void disposeIn(GstBin* parent, std::vector<GstElement*>& elements);

  GstBin* parent_;
  Options options_;
  TeardownWorker& worker_;
  std::vector<GstElement*> elements_;  // the fixed part, owned by parent_
  GstElement* compositor_ = nullptr;
  GstElement* audiomixer_ = nullptr;
  GstElement* raw_tee_ = nullptr;  // the composite, raw, for the interpreter variant
  GstElement* video_tee_ = nullptr;
  GstElement* audio_tee_ = nullptr;
  PadPtr video_out_;
  PadPtr audio_out_;
  std::map<std::string, std::unique_ptr<Input>> inputs_;
  std::unique_ptr<Variant> interpreter_;
};

}  // namespace jobcast::media
