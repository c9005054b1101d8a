// Pad probes here run on the source pipeline's streaming threads (see the header).

#include "media/programme_feed.h"

#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include <algorithm>

namespace jobcast::media {
namespace {

// A viewer whose appsrc holds more than this is not keeping up: drop and
// restart it from the next keyframe rather than queue without bound.
constexpr guint64 kMaxQueuedBytes = 1 << 20;

}  // namespace

ProgrammeFeed::ProgrammeFeed(std::string name)
    : name_(std::move(name)),
      viewers_(std::make_shared<const std::vector<std::shared_ptr<Viewer>>>()) {
  video_.video = true;
  video_.feed = this;
  audio_.feed = this;
  gst_segment_init(&video_.segment, GST_FORMAT_TIME);
  gst_segment_init(&audio_.segment, GST_FORMAT_TIME);
}

ProgrammeFeed::~ProgrammeFeed() {
  detach();
}

void ProgrammeFeed::attach(GstElement* pipeline, GstPad* video, GstPad* audio) {
  untap(video_);
  untap(audio_);
  pipeline_ = retain(pipeline);
  // Every viewer starts the new source at a keyframe.
  for (const auto& viewer : *snapshot())
    viewer->need_keyframe = true;
  if (video)
    tap(video_, video);
  if (audio)
    tap(audio_, audio);
}

void ProgrammeFeed::detach() {
  untap(video_);
  untap(audio_);
  pipeline_.reset();
}

bool ProgrammeFeed::attached() const {
  return pipeline_ != nullptr;
}

void ProgrammeFeed::tap(Stream& stream, GstPad* pad) {
  {
    std::lock_guard lock(stream.mutex);
    stream.pad = retain(pad);
    gst_segment_init(&stream.segment, GST_FORMAT_TIME);
    // The pad may be flowing already: start from its sticky events.
    if (GstEvent* segment = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
      gst_event_copy_segment(segment, &stream.segment);
      gst_event_unref(segment);
    }
    stream.caps.reset(gst_pad_get_current_caps(pad));
  }
  if (stream.caps) {
    for (const auto& viewer : *snapshot()) {
      gst_app_src_set_caps(
          GST_APP_SRC(stream.video ? viewer->video_src.get() : viewer->audio_src.get()),
          stream.caps.get());
    }
  }
  stream.probe = gst_pad_add_probe(
      pad,
      static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      &ProgrammeFeed::onProbe, &stream, nullptr);
}

void ProgrammeFeed::untap(Stream& stream) {
  if (stream.pad && stream.probe)
    gst_pad_remove_probe(stream.pad.get(), stream.probe);
  // gst_pad_remove_probe waits for a running probe callback to return.
  stream.probe = 0;
  std::lock_guard lock(stream.mutex);
  stream.pad.reset();
}

GstPadProbeReturn ProgrammeFeed::onProbe(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* stream = static_cast<Stream*>(data);
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    stream->feed->handleBuffer(*stream, GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    stream->feed->handleEvent(*stream, GST_PAD_PROBE_INFO_EVENT(info));
  }
  return GST_PAD_PROBE_OK;
}

void ProgrammeFeed::handleEvent(Stream& stream, GstEvent* event) {
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT: {
      std::lock_guard lock(stream.mutex);
      gst_event_copy_segment(event, &stream.segment);
      break;
    }
    case GST_EVENT_CAPS: {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      {
        std::lock_guard lock(stream.mutex);
        stream.caps.reset(gst_caps_ref(caps));
      }
      for (const auto& viewer : *snapshot()) {
        gst_app_src_set_caps(
            GST_APP_SRC(stream.video ? viewer->video_src.get() : viewer->audio_src.get()), caps);
      }
      break;
    }
    default:
      break;
  }
}

void ProgrammeFeed::handleBuffer(Stream& stream, GstBuffer* buffer) {
  auto viewers = snapshot();
  if (stream.video)
    ++video_buffers_;
  if (viewers->empty())
    return;
  GstClockTime pts, dts;
  {
    std::lock_guard lock(stream.mutex);
    pts = gst_segment_to_running_time(&stream.segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
    dts = gst_segment_to_running_time(&stream.segment, GST_FORMAT_TIME, GST_BUFFER_DTS(buffer));
  }
  // One shallow copy (metadata only; memory is shared) carries running time.
  BufferPtr stamped(gst_buffer_copy(buffer));
  GST_BUFFER_PTS(stamped.get()) = pts;
  GST_BUFFER_DTS(stamped.get()) = dts;
  bool keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  for (const auto& viewer : *viewers) {
    if (!viewer->active)
      continue;
    GstAppSrc* src = GST_APP_SRC(stream.video ? viewer->video_src.get() : viewer->audio_src.get());
    if (stream.video) {
      if (viewer->need_keyframe && !keyframe)
        continue;
      if (gst_app_src_get_current_level_bytes(src) > kMaxQueuedBytes) {
        viewer->need_keyframe = true;
        ++viewer->dropped;
        continue;
      }
      viewer->need_keyframe = false;
      ++viewer->video_buffers;
    } else if (gst_app_src_get_current_level_bytes(src) > kMaxQueuedBytes) {
      ++viewer->dropped;
      continue;
    }
    gst_app_src_push_buffer(src, gst_buffer_ref(stamped.get()));
  }
}

std::shared_ptr<const std::vector<std::shared_ptr<ProgrammeFeed::Viewer>>> ProgrammeFeed::snapshot()
    const {
  std::lock_guard lock(viewers_mutex_);
  return viewers_;
}

std::shared_ptr<ProgrammeFeed::Viewer> ProgrammeFeed::addViewer(GstElement* video_appsrc,
                                                                GstElement* audio_appsrc) {
  auto viewer = std::make_shared<Viewer>();
  viewer->video_src = retain(video_appsrc);
  viewer->audio_src = retain(audio_appsrc);
  {
    std::lock_guard lock(video_.mutex);
    if (video_.caps)
      gst_app_src_set_caps(GST_APP_SRC(video_appsrc), video_.caps.get());
  }
  {
    std::lock_guard lock(audio_.mutex);
    if (audio_.caps)
      gst_app_src_set_caps(GST_APP_SRC(audio_appsrc), audio_.caps.get());
  }
  std::lock_guard lock(viewers_mutex_);
  auto next = std::make_shared<std::vector<std::shared_ptr<Viewer>>>(*viewers_);
  next->push_back(viewer);
  viewers_ = std::move(next);
  return viewer;
}

void ProgrammeFeed::removeViewer(const std::shared_ptr<Viewer>& viewer) {
  viewer->active = false;
  std::lock_guard lock(viewers_mutex_);
  auto next = std::make_shared<std::vector<std::shared_ptr<Viewer>>>(*viewers_);
  next->erase(std::remove(next->begin(), next->end(), viewer), next->end());
  viewers_ = std::move(next);
}

void ProgrammeFeed::activate(const std::shared_ptr<Viewer>& viewer) {
  viewer->need_keyframe = true;
  viewer->active = true;
}

size_t ProgrammeFeed::viewerCount() const {
  return snapshot()->size();
}

void ProgrammeFeed::requestKeyframe() {
  if (keyframe_request_) {
    keyframe_request_();
    return;
  }
  PadPtr pad;
  {
    std::lock_guard lock(video_.mutex);
    pad = retain(video_.pad.get());
  }
  if (pad) {
    gst_pad_send_event(pad.get(),
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
  }
}

ClockPtr ProgrammeFeed::clock() const {
  if (!pipeline_)
    return ClockPtr(gst_system_clock_obtain());
  GstClock* clock = gst_pipeline_get_clock(GST_PIPELINE(pipeline_.get()));
  return ClockPtr(clock ? clock : gst_system_clock_obtain());
}

GstClockTime ProgrammeFeed::baseTime() const {
  return pipeline_ ? gst_element_get_base_time(pipeline_.get()) : 0;
}

CapsPtr ProgrammeFeed::videoCaps() const {
  std::lock_guard lock(video_.mutex);
  return CapsPtr(video_.caps ? gst_caps_ref(video_.caps.get()) : nullptr);
}

}  // namespace jobcast::media
