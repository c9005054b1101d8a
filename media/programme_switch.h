#pragma once
// What a room's programme is: the publisher passed through, or the stage
// composite. Owns the publisher's tees ("publisher-video",
// "publisher-opus"), the input-selectors in front of the programme tees, the
// StageMixer with the publisher's decoders and the guests' inter sources.
// Everything downstream of the programme tees (HLS, recording, WHEP)
// follows a switch without restart.
//
// Threads: control thread. Parts taken down (the mixer, a guest's sources)
// are stopped on the teardown worker.

#include <gst/gst.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/gst_ptr.h"
#include "media/media_options.h"

namespace jobcast::media {

class StageMixer;
class TeardownWorker;

class ProgrammeSwitch {
 public:
  enum class State {
    Passthrough,  // no mixer: the publisher's H.264 and Opus as they are
    Standby,      // the mixer runs (an interpreter alone), the programme is still passthrough
    Composite,    // the mixer's output is the programme
  };
  // Someone beside the main publisher, as the stage mixer takes them.
  struct StageInput {
    std::string id;  // their sub
    bool interpreter = false;
    std::string caption;
    std::string channel;  // the inter channels their guest pipeline writes
  };
  // Control thread.
  struct Hooks {
    std::function<void()> ask_publisher_keyframe;  // RTCP PLI to the publisher
    std::function<void()> switched;                // the programme's source changed
    // The interpreter variant's H.264 tee came (a tee) or went (null).
    std::function<void(GstElement* variant_tee)> interpreter;
  };

  ProgrammeSwitch(GstBin* pipeline, TeardownWorker& worker, const MediaOptions& options,
                  std::string room, Hooks hooks);
  ~ProgrammeSwitch();  // references only: the pipeline is in NULL or going
  ProgrammeSwitch(const ProgrammeSwitch&) = delete;
  ProgrammeSwitch& operator=(const ProgrammeSwitch&) = delete;

  // Links the publisher's H.264 (`video_in`'s src) and Opus (`audio_in`'s
  // src) through the selectors into the programme tees.
  Result<bool> build(GstElement* video_in, GstElement* audio_in, GstElement* video_out,
                     GstElement* audio_out);
  // The publisher's own video, before any switch (their health is judged there).
  GstElement* publisherVideo() const { return publisher_video_; }

  // Passthrough with no inputs; else the composite (guests as PiP tiles) and,
  // with an interpreter, the interpreter variant.
  void setStage(const std::string& main_caption, const std::vector<StageInput>& inputs);
  State state() const { return state_; }
  // The interpreter variant's H.264 (for WHEP), or null.
  GstPad* interpreterVideo() const;
  // A keyframe of the programme: from the publisher, or the mixer's encoder.
  void askKeyframe();

  // One timeline on `pad` (a programme tee's sink) whichever source feeds
  // it: buffers re-stamped to running time under one segment from zero.
  static void keepOneTimeline(GstPad* pad, bool video);

 private:
  GstElement* add(const char* factory, const char* name = nullptr);
  bool ensureMixer(const std::string& main_caption);
  void dropMixer();
  void select(bool composite);
  // Stops and removes `elements` on the teardown worker.
  void dispose(std::vector<GstElement*> elements);

  GstBin* pipeline_;
  TeardownWorker& worker_;
  MediaOptions options_;
  std::string room_;
  Hooks hooks_;
  State state_ = State::Passthrough;
  GstElement* publisher_video_ = nullptr;  // tees before the selectors
  GstElement* publisher_opus_ = nullptr;
  GstElement* video_select_ = nullptr;
  GstElement* audio_select_ = nullptr;
  GstPtr<GstPad> select_pass_video_;  // selector sink pads (owned refs)
  GstPtr<GstPad> select_pass_audio_;
  GstPtr<GstPad> select_mix_video_;
  GstPtr<GstPad> select_mix_audio_;
  GstPtr<GstPad> mix_video_src_;  // request pads on the mixer's tees (owned refs)
  GstPtr<GstPad> mix_audio_src_;
  std::unique_ptr<StageMixer> mixer_;
  std::vector<GstElement*> main_decode_;  // publisher -> raw, for the mixer
  GstPtr<GstPad> main_video_tee_pad_;     // request pads on the publisher tees (owned refs)
  GstPtr<GstPad> main_audio_tee_pad_;
  struct StageSource {
    StageInput input;
    std::vector<GstElement*> elements;  // intervideosrc, interaudiosrc
  };
  std::map<std::string, StageSource> stage_sources_;
};

}  // namespace jobcast::media
