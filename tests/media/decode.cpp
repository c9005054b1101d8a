// The appsink callbacks here run on GStreamer streaming threads; they only
// update the Decoded record under a mutex.

#include "tests/media/decode.h"

#include <gst/app/app.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdio>
#include <fstream>
#include <mutex>

#include "media/frame_stamp.h"
#include "media/gst_ptr.h"
#include "tests/support/temp_dir.h"

namespace jobcast::test {
namespace {

struct State {
  std::mutex mutex;
  Decoded result;
};

GstFlowReturn onVideo(GstAppSink* sink, gpointer data) {
  auto* state = static_cast<State*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstVideoInfo info;
  GstCaps* caps = gst_sample_get_caps(sample);
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  std::lock_guard lock(state->mutex);
  if (caps && gst_video_info_from_caps(&info, caps)) {
    state->result.width = GST_VIDEO_INFO_WIDTH(&info);
    state->result.height = GST_VIDEO_INFO_HEIGHT(&info);
    GstVideoFrame frame;
    if (gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
      auto stamp =
          media::readStamp(static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)),
                           GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0), GST_VIDEO_INFO_WIDTH(&info),
                           GST_VIDEO_INFO_HEIGHT(&info));
      if (stamp) {
        if (state->result.first_stamp_ms < 0)
          state->result.first_stamp_ms = *stamp;
        state->result.last_stamp_ms = *stamp;
      }
      gst_video_frame_unmap(&frame);
    }
  }
  ++state->result.video_frames;
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

GstFlowReturn onAudio(GstAppSink* sink, gpointer data) {
  auto* state = static_cast<State*>(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample)
    return GST_FLOW_EOS;
  std::lock_guard lock(state->mutex);
  ++state->result.audio_buffers;
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

}  // namespace

Decoded decodeFile(const std::string& path, const std::string& kind,
                   std::chrono::milliseconds watchdog) {
  gst_init(nullptr, nullptr);
  const std::string video =
      "h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=I420 ! "
      "appsink name=v sync=false";
  const std::string audio = "aacparse ! avdec_aac ! appsink name=a sync=false";
  std::string description = "filesrc location=\"" + path + "\" ! ";
  if (kind == "ts") {
    description += "tsdemux name=d d. ! queue ! " + video + " d. ! queue ! " + audio;
  } else if (kind == "ts-audio") {
    description += "tsdemux ! queue ! " + audio;
  } else if (kind == "aac") {  // packed audio: ID3 timestamp tag + ADTS
    description += "id3demux ! queue ! " + audio;
  } else {
    description += "qtdemux name=d d.video_0 ! queue ! " + video + " d.audio_0 ! queue ! " + audio;
  }
  Decoded failed;
  GError* error = nullptr;
  GstElement* raw = gst_parse_launch(description.c_str(), &error);
  if (error) {
    failed.error = error->message;
    g_error_free(error);
    if (raw)
      gst_object_unref(raw);
    return failed;
  }
  media::PipelinePtr pipeline(raw);
  State state;
  GstAppSinkCallbacks video_cb = {};
  video_cb.new_sample = onVideo;
  GstAppSinkCallbacks audio_cb = {};
  audio_cb.new_sample = onAudio;
  if (GstElement* v = gst_bin_get_by_name(GST_BIN(raw), "v")) {
    gst_app_sink_set_callbacks(GST_APP_SINK(v), &video_cb, &state, nullptr);
    gst_object_unref(v);
  }
  if (GstElement* a = gst_bin_get_by_name(GST_BIN(raw), "a")) {
    gst_app_sink_set_callbacks(GST_APP_SINK(a), &audio_cb, &state, nullptr);
    gst_object_unref(a);
  }
  gst_element_set_state(raw, GST_STATE_PLAYING);
  media::GstPtr<GstBus> bus(gst_element_get_bus(raw));
  // The watchdog: a decode that never reaches EOS fails instead of hanging.
  media::MessagePtr message(gst_bus_timed_pop_filtered(
      bus.get(), static_cast<GstClockTime>(watchdog.count()) * GST_MSECOND,
      GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  std::string error_text;
  bool finished = false;
  if (!message) {
    error_text = "watchdog: no EOS in time";
  } else if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(message.get(), &e, nullptr);
    error_text = e ? e->message : "error";
    if (e)
      g_error_free(e);
  } else {
    finished = true;
  }
  pipeline.reset();
  std::lock_guard lock(state.mutex);
  Decoded out = state.result;
  out.finished = finished;
  out.error = error_text;
  return out;
}

Decoded decodeBytes(const std::string& bytes, const std::string& kind,
                    std::chrono::milliseconds watchdog) {
  TempDir dir("jobcast-decode");
  std::string path = dir.path() + "/media." + (kind == "mp4" ? "mp4" : "ts");
  std::ofstream(path, std::ios::binary) << bytes;
  return decodeFile(path, kind, watchdog);
}

}  // namespace jobcast::test
