// Control thread, except the buffer probe marked "streaming thread".

#include "media/guest_input.h"

#include "core/log.h"
#include "media/gst_ptr.h"

namespace jobcast::media {

GuestInput::GuestInput(GstBin* pipeline, std::string channel)
    : pipeline_(pipeline), channel_(std::move(channel)) {}

GstElement* GuestInput::add(const char* factory) {
  GstElement* e = makeElement(factory);
  if (!e) {
    log::error("missing GStreamer element", {{"factory", factory}});
    return nullptr;
  }
  gst_bin_add(pipeline_, e);
  return e;
}

Result<bool> GuestInput::build(GstElement* video_tee, GstElement* audio_raw) {
  GstElement* vq = add("queue");
  GstElement* dec = add("avdec_h264");
  GstElement* conv = add("videoconvert");
  GstElement* vsink = add("intervideosink");
  GstElement* asink = add("interaudiosink");
  if (!vq || !dec || !conv || !vsink || !asink)
    return Error{"media_unavailable", "GStreamer element missing: avdec_h264/intervideosink"};
  g_object_set(vq, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
               static_cast<guint64>(GST_SECOND), nullptr);
  g_object_set(vsink, "channel", (channel_ + "-v").c_str(), nullptr);
  g_object_set(asink, "channel", (channel_ + "-a").c_str(), nullptr);
  if (!gst_element_link_many(video_tee, vq, dec, conv, vsink, nullptr) ||
      !gst_element_link(audio_raw, asink)) {
    return Error{"media_error", "cannot link the guest's outputs"};
  }
  // Streaming thread: the first decoded picture reached the channel.
  GstPtr<GstPad> pad(gst_element_get_static_pad(vsink, "sink"));
  gst_pad_add_probe(
      pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
      +[](GstPad*, GstPadProbeInfo*, gpointer data) -> GstPadProbeReturn {
        static_cast<std::shared_ptr<std::atomic<bool>>*>(data)->get()->store(
            true, std::memory_order_release);
        return GST_PAD_PROBE_REMOVE;
      },
      new std::shared_ptr<std::atomic<bool>>(feeding_),
      [](gpointer d) { delete static_cast<std::shared_ptr<std::atomic<bool>>*>(d); });
  return true;
}

}  // namespace jobcast::media
