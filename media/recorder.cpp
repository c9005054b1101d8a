// Control thread, except the buffer probe marked "streaming thread" and the
// EOS sent from GStreamer's thread pool.

#include "media/recorder.h"

#include <chrono>
#include <filesystem>

#include "core/log.h"

namespace jobcast::media {
namespace {

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Recorder::Recorder(GstBin* pipeline, const MediaOptions& options, std::string dir, Closed closed)
    : pipeline_(pipeline), options_(options), dir_(std::move(dir)), closed_(std::move(closed)) {}

GstElement* Recorder::add(const char* factory, const char* name) {
  return addElement(pipeline_, factory, name);
}

Result<bool> Recorder::build(GstElement* video_tee, GstElement* aac_tee) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return Error{"media_error", "cannot create " + dir_};
  sink_ = add("splitmuxsink", "recording");
  GstElement* vq = add("queue");
  GstElement* aq = add("queue");
  GstElement* avc = add("h264parse");  // MP4 stores AVC, not byte-stream
  if (!sink_ || !vq || !aq || !avc)
    return Error{"media_unavailable", "GStreamer element missing: splitmuxsink"};
  for (GstElement* q : {vq, aq}) {
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 static_cast<guint64>(3 * GST_SECOND), nullptr);
    // mp4mux refuses buffers without a timestamp (the encoder's priming output,
    // say), and fails the whole pipeline: drop them on the way in. Streaming thread.
    GstPtr<GstPad> pad(gst_element_get_static_pad(q, "sink"));
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        +[](GstPad*, GstPadProbeInfo* info, gpointer) {
          return GST_BUFFER_PTS_IS_VALID(GST_PAD_PROBE_INFO_BUFFER(info)) ? GST_PAD_PROBE_OK
                                                                          : GST_PAD_PROBE_DROP;
        },
        nullptr, nullptr);
  }
  std::string location = dir_ + "/" + std::to_string(wallMs()) + "-%03d.mp4";
  g_object_set(sink_, "location", location.c_str(), "max-size-time",
               static_cast<guint64>(options_.recording_piece_seconds) * GST_SECOND, "muxer-factory",
               "mp4mux", "send-keyframe-requests", TRUE, nullptr);
  auto link = [this](GstElement* from, const char* pad_name) {
    GstPtr<GstPad> sink(gst_element_request_pad_simple(sink_, pad_name));
    GstPtr<GstPad> src(gst_element_get_static_pad(from, "src"));
    if (!sink || !src || gst_pad_link(src.get(), sink.get()) != GST_PAD_LINK_OK)
      return false;
    pads_.push_back(std::move(sink));
    return true;
  };
  if (!gst_element_link(video_tee, vq) || !gst_element_link(vq, avc) || !link(avc, "video") ||
      !gst_element_link(aac_tee, aq) || !link(aq, "audio_%u")) {
    return Error{"media_error", "cannot link the recording"};
  }
  return true;
}

bool Recorder::finish() {
  if (state_ != State::Open) {
    if (state_ == State::Idle)
      state_ = State::Done;
    return state_ == State::Finishing;
  }
  state_ = State::Finishing;
  auto* pads = new std::vector<GstPtr<GstPad>>();
  for (auto& pad : pads_)
    pads->emplace_back(GST_PAD(gst_object_ref(pad.get())));
  gst_element_call_async(
      sink_,
      [](GstElement*, gpointer data) {
        for (auto& pad : *static_cast<std::vector<GstPtr<GstPad>>*>(data))
          gst_pad_send_event(pad.get(), gst_event_new_eos());
      },
      pads, [](gpointer data) { delete static_cast<std::vector<GstPtr<GstPad>>*>(data); });
  return true;
}

bool Recorder::onFragmentMessage(GstMessage* message) {
  if (!sink_ || GST_MESSAGE_SRC(message) != GST_OBJECT(sink_))
    return false;
  const GstStructure* s = gst_message_get_structure(message);
  if (!s)
    return false;
  const char* location = gst_structure_get_string(s, "location");
  if (gst_structure_has_name(s, "splitmuxsink-fragment-opened")) {
    opened_ms_ = wallMs();
    location_ = location ? location : "";
    if (state_ != State::Finishing)
      state_ = State::Open;
    return true;
  }
  if (!gst_structure_has_name(s, "splitmuxsink-fragment-closed"))
    return false;
  RecordingPiece piece{location ? location : location_, opened_ms_, wallMs()};
  state_ = state_ == State::Finishing ? State::Done : State::Idle;
  if (closed_)
    closed_(piece);
  return true;
}

}  // namespace jobcast::media
