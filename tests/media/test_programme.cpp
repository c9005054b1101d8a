// The keyframe counter probe runs on the programme's streaming thread.

#include "tests/media/test_programme.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace jobcast::test {

struct TestProgramme::Counter {
  std::atomic<uint64_t> keyframes{0};
};

TestProgramme::TestProgramme(Options o) : counter_(new Counter) {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
  char pattern[96];
  if (o.colour >= 0) {
    snprintf(pattern, sizeof pattern, "pattern=solid-color foreground-color=0x%08llx",
             static_cast<unsigned long long>(0xff000000LL | o.colour));
  } else {
    snprintf(pattern, sizeof pattern, "pattern=smpte");
  }
  std::string desc =
      std::string("videotestsrc is-live=true ") + pattern +
      " ! video/x-raw,width=" + std::to_string(o.width) + ",height=" + std::to_string(o.height) +
      ",framerate=" + std::to_string(o.fps) +
      "/1 ! videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency "
      "speed-preset=ultrafast key-int-max=" +
      std::to_string(o.fps * o.keyframe_interval_s) + " bitrate=" + std::to_string(o.bitrate_kbps) +
      " ! video/x-h264,profile=constrained-baseline ! h264parse name=vout config-interval=-1 ! "
      "fakesink sync=false async=false "
      "audiotestsrc is-live=true wave=sine volume=0.5 freq=" +
      std::to_string(o.tone_hz) +
      " ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! "
      "opusenc name=aout ! fakesink sync=false async=false";
  GError* error = nullptr;
  pipeline_ = gst_parse_launch(desc.c_str(), &error);
  if (!pipeline_) {
    g_printerr("test programme: %s\n", error ? error->message : "?");
    g_clear_error(&error);
    return;
  }
  gst_object_ref_sink(pipeline_);
  GstElement* vout = gst_bin_get_by_name(GST_BIN(pipeline_), "vout");
  GstElement* aout = gst_bin_get_by_name(GST_BIN(pipeline_), "aout");
  video_pad_ = gst_element_get_static_pad(vout, "src");
  audio_pad_ = gst_element_get_static_pad(aout, "src");
  gst_object_unref(vout);
  gst_object_unref(aout);
  gst_pad_add_probe(
      video_pad_, GST_PAD_PROBE_TYPE_BUFFER,
      +[](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT))
          ++static_cast<Counter*>(data)->keyframes;
        return GST_PAD_PROBE_OK;
      },
      counter_, nullptr);
  gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  gst_element_get_state(pipeline_, nullptr, nullptr, 5 * GST_SECOND);
}

TestProgramme::~TestProgramme() {
  if (pipeline_) {
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    gst_object_unref(video_pad_);
    gst_object_unref(audio_pad_);
    gst_object_unref(pipeline_);
  }
  delete counter_;
}

uint64_t TestProgramme::keyframes() const {
  return counter_->keyframes;
}

}  // namespace jobcast::test
