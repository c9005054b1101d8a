#pragma once
// The encoded programme of a room (or of one variant of it): H.264 byte-stream
// access units and Opus, fanned out to each viewer's appsrc by reference, with
// no decode and no encode per viewer.
//
// Threads: attach/detach/addViewer/removeViewer run on the control thread. The
// pad probes run on the source pipeline's streaming threads: they read a
// snapshot of the viewer list (taken under a mutex) and push buffer references
// into viewers' appsrcs, which is thread-safe. Buffers are re-stamped to
// running time and viewer pipelines share the source's clock and base time, so
// a switch of source (passthrough <-> composite) keeps RTP timing continuous.

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "media/gst_refs.h"

namespace jobcast::media {

class ProgrammeFeed {
 public:
  // One viewer's entry points: two appsrcs in the viewer's own pipeline.
  struct Viewer {
    ElementPtr video_src;
    ElementPtr audio_src;
    std::atomic<bool> active{false};         // pushing only once its transport is up
    std::atomic<bool> need_keyframe{true};   // drop delta frames until a keyframe
    std::atomic<uint64_t> video_buffers{0};  // pushed so far
    std::atomic<uint64_t> dropped{0};        // dropped because its queue was full
  };

  explicit ProgrammeFeed(std::string name);
  ~ProgrammeFeed();
  ProgrammeFeed(const ProgrammeFeed&) = delete;
  ProgrammeFeed& operator=(const ProgrammeFeed&) = delete;

  // Taps the encoded pads (H.264 byte-stream, AU-aligned, SPS/PPS before each
  // IDR; Opus) of `pipeline`. Attaching again switches to the new pads: viewers
  // keep their sessions and get the new source from its next keyframe.
  void attach(GstElement* pipeline, GstPad* video, GstPad* audio);
  void detach();
  bool attached() const;

  std::shared_ptr<Viewer> addViewer(GstElement* video_appsrc, GstElement* audio_appsrc);
  void removeViewer(const std::shared_ptr<Viewer>& viewer);
  // Starts pushing to the viewer, from the next keyframe.
  void activate(const std::shared_ptr<Viewer>& viewer);
  size_t viewerCount() const;

  // Asks the source for a keyframe: by default one upstream force-key-unit
  // event on the video pad (reaches an encoder); a room whose source is a
  // publisher sets its own way (RTCP to the publisher). Rate-limiting is the
  // caller's job (KeyframeGate). Control thread.
  void requestKeyframe();
  void setKeyframeRequest(std::function<void()> fn) { keyframe_request_ = std::move(fn); }

  // The source pipeline's clock and base time; viewer pipelines use both.
  ClockPtr clock() const;
  GstClockTime baseTime() const;
  CapsPtr videoCaps() const;
  const std::string& name() const { return name_; }
  uint64_t videoBuffers() const { return video_buffers_; }

 private:
  struct Stream {
    ProgrammeFeed* feed = nullptr;
    bool video = false;
    PadPtr pad;
    gulong probe = 0;
    mutable std::mutex mutex;  // guards segment and caps
    GstSegment segment;
    CapsPtr caps;
  };
  static GstPadProbeReturn onProbe(GstPad* pad, GstPadProbeInfo* info, gpointer data);
  void tap(Stream& stream, GstPad* pad);
  void untap(Stream& stream);
  void handleEvent(Stream& stream, GstEvent* event);
  void handleBuffer(Stream& stream, GstBuffer* buffer);
  std::shared_ptr<const std::vector<std::shared_ptr<Viewer>>> snapshot() const;

  std::string name_;
  Stream video_;
  Stream audio_;
  ElementPtr pipeline_;
  mutable std::mutex viewers_mutex_;
  std::shared_ptr<const std::vector<std::shared_ptr<Viewer>>> viewers_;
  std::atomic<uint64_t> video_buffers_{0};
  std::function<void()> keyframe_request_;
};

}  // namespace jobcast::media
