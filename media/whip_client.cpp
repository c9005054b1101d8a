// The static callbacks here run on GStreamer streaming threads; they only update
// the client's flags under its mutex and wake the waiting caller.

#include "media/whip_client.h"

#include <gst/video/video.h>

#include <chrono>

#include "media/frame_stamp.h"

namespace jobcast::media {
namespace {

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string replyError(GstPromise* promise) {
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
    return "no reply";
  return promiseReplyError(gst_promise_get_reply(promise));
}

}  // namespace

WhipClient::WhipClient(Options options) : options_(std::move(options)) {
  gst_init(nullptr, nullptr);
}

WhipClient::~WhipClient() {
  stop();
}

Result<bool> WhipClient::build() {
  std::string video = "videotestsrc is-live=true pattern=" + options_.pattern +
                      " ! video/x-raw,format=I420,width=" + std::to_string(options_.width) +
                      ",height=" + std::to_string(options_.height) +
                      ",framerate=" + std::to_string(options_.fps) + "/1 ! identity name=stamp";
  if (!options_.title.empty()) {
    GCharPtr escaped(g_strescape(options_.title.c_str(), nullptr));
    video += " ! textoverlay valignment=bottom halignment=center font-desc=\"Sans 24\" text=\"" +
             std::string(escaped.get()) + "\"";
  }
  if (options_.clock)
    video += " ! clockoverlay valignment=top halignment=right time-format=\"%H:%M:%S\"";
  video +=
      " ! videoconvert ! video/x-raw,format=I420 ! x264enc tune=zerolatency "
      "speed-preset=ultrafast threads=" +
      std::to_string(options_.encoder_threads) + " bitrate=" + std::to_string(options_.video_kbps) +
      " key-int-max=" + std::to_string(options_.key_int_max) +
      " ! video/x-h264,profile=constrained-baseline ! rtph264pay config-interval=-1 pt=102 "
      "aggregate-mode=zero-latency ! "
      "application/x-rtp,media=video,encoding-name=H264,payload=102,"
      "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true ! webrtc.";
  std::string audio =
      "audiotestsrc is-live=true wave=sine freq=" + std::to_string(options_.tone_hz) +
      " volume=0.3 ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! "
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! webrtc.";
  std::string description = "webrtcbin name=webrtc bundle-policy=max-bundle " + video + " " + audio;
  GError* error = nullptr;
  PipelinePtr parsed(gst_parse_launch(description.c_str(), &error));
  if (error) {
    std::string text = error->message;
    g_error_free(error);
    return Error{"media_unavailable", "cannot build the publisher: " + text};
  }
  pipeline_ = std::move(parsed);
  GstElement* pipeline = pipeline_.get();
  // The pipeline keeps webrtcbin alive as long as this object.
  webrtc_ = GstPtr<GstElement>(gst_bin_get_by_name(GST_BIN(pipeline), "webrtc")).get();

  g_signal_connect(webrtc_, "on-negotiation-needed", G_CALLBACK(+[](GstElement*, gpointer self) {
                     auto* c = static_cast<WhipClient*>(self);
                     std::lock_guard lock(c->mutex_);
                     c->negotiation_needed_ = true;
                     c->changed_.notify_all();
                   }),
                   this);
  g_signal_connect(webrtc_, "notify::ice-gathering-state",
                   G_CALLBACK(+[](GObject* webrtc, GParamSpec*, gpointer self) {
                     auto* c = static_cast<WhipClient*>(self);
                     GstWebRTCICEGatheringState state;
                     g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
                     std::lock_guard lock(c->mutex_);
                     c->gathered_ = state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
                     c->changed_.notify_all();
                   }),
                   this);
  g_signal_connect(webrtc_, "notify::connection-state",
                   G_CALLBACK(+[](GObject* webrtc, GParamSpec*, gpointer self) {
                     auto* c = static_cast<WhipClient*>(self);
                     GstWebRTCPeerConnectionState state;
                     g_object_get(webrtc, "connection-state", &state, nullptr);
                     std::lock_guard lock(c->mutex_);
                     c->connection_state_ = static_cast<int>(state);
                     c->changed_.notify_all();
                   }),
                   this);

  GstPtr<GstElement> stamp(gst_bin_get_by_name(GST_BIN(pipeline), "stamp"));
  GstPtr<GstPad> pad(gst_element_get_static_pad(stamp.get(), "src"));
  gst_pad_add_probe(
      pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
      +[](GstPad*, GstPadProbeInfo* info, gpointer self) -> GstPadProbeReturn {
        auto* c = static_cast<WhipClient*>(self);
        {
          std::lock_guard lock(c->mutex_);
          ++c->frames_;
        }
        if (!c->options_.stamp)
          return GST_PAD_PROBE_OK;
        GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
        GST_PAD_PROBE_INFO_DATA(info) = buffer;
        GstMapInfo map;
        if (gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
          int w = c->options_.width;
          int h = c->options_.height;
          GstVideoMeta* meta = gst_buffer_get_video_meta(buffer);
          int stride = meta ? meta->stride[0] : GST_ROUND_UP_4(w);
          paintStamp(map.data + (meta ? meta->offset[0] : 0), stride, w, h, wallMs());
          gst_buffer_unmap(buffer, &map);
        }
        return GST_PAD_PROBE_OK;
      },
      this, nullptr);
  return true;
}

Result<std::string> WhipClient::createOffer(std::chrono::milliseconds timeout) {
  auto built = build();
  if (!built)
    return built.error();
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"media_error", "the publisher pipeline did not start"};
  {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [this] { return negotiation_needed_; }))
      return Error{"timeout", "webrtcbin never asked for negotiation"};
  }
  // A publisher only sends.
  GArray* transceivers = nullptr;
  g_signal_emit_by_name(webrtc_, "get-transceivers", &transceivers);
  for (guint i = 0; transceivers && i < transceivers->len; ++i) {
    gst_util_set_object_arg(G_OBJECT(g_array_index(transceivers, GstWebRTCRTPTransceiver*, i)),
                            "direction", "sendonly");
  }
  if (transceivers)
    g_array_unref(transceivers);
  PromisePtr promise(gst_promise_new());
  g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise.get());
  std::string error = replyError(promise.get());
  if (!error.empty())
    return Error{"media_error", "create-offer: " + error};
  GstWebRTCSessionDescription* offer = nullptr;
  gst_structure_get(gst_promise_get_reply(promise.get()), "offer",
                    GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  DescriptionPtr owned(offer);
  if (!offer)
    return Error{"media_error", "create-offer gave no offer"};
  PromisePtr set(gst_promise_new());
  g_signal_emit_by_name(webrtc_, "set-local-description", offer, set.get());
  error = replyError(set.get());
  if (!error.empty())
    return Error{"media_error", "set-local-description: " + error};
  {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [this] { return gathered_; }))
      return Error{"timeout", "ICE gathering did not complete"};
  }
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_, "local-description", &local, nullptr);
  DescriptionPtr local_owned(local);
  if (!local)
    return Error{"media_error", "no local description"};
  return sdpText(local->sdp);
}

Result<bool> WhipClient::setAnswer(const std::string& sdp, std::chrono::milliseconds) {
  SdpPtr parsed = parseSdp(sdp);
  if (!parsed)
    return Error{"bad_sdp", "the answer is not SDP"};
  DescriptionPtr answer(
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, parsed.release()));
  PromisePtr promise(gst_promise_new());
  g_signal_emit_by_name(webrtc_, "set-remote-description", answer.get(), promise.get());
  std::string error = replyError(promise.get());
  if (!error.empty())
    return Error{"bad_sdp", "set-remote-description: " + error};
  return true;
}

bool WhipClient::waitConnected(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] {
    return connection_state_ == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED;
  });
}

void WhipClient::stop() {
  pipeline_.reset();
  webrtc_ = nullptr;
}

uint64_t WhipClient::framesSent() const {
  std::lock_guard lock(mutex_);
  return frames_;
}

}  // namespace jobcast::media
