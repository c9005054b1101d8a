// webrtcbin signals, promises and appsink callbacks here run on GStreamer threads.

#include "tests/support/whep_client.h"

#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/webrtc/ice.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>

#include "media/h264_access_unit.h"
#include "media/whep_session.h"
#include "tests/support/http_client.h"

namespace jobcast::test {
namespace {

std::condition_variable offer_cv;

int64_t wallNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

}  // namespace

WhepClient::WhepClient(Options options) : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
  pipeline_ = gst_pipeline_new("whep-client");
  gst_object_ref_sink(pipeline_);
  webrtc_ = gst_element_factory_make("webrtcbin", "recv");
  g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
               options_.latency_ms, nullptr);
  gst_bin_add(GST_BIN(pipeline_), webrtc_);
  media::restrictIceAddresses(webrtc_, options_.local_addresses);
  std::string video_caps =
      "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=102,"
      "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
      "rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true";
  if (options_.nack)
    video_caps += ",rtcp-fb-nack=(boolean)true";
  const char* kinds[] = {
      video_caps.c_str(),
      "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,"
      "encoding-params=(string)2"};
  for (const char* kind : kinds) {
    GstCaps* caps = gst_caps_from_string(kind);
    GstWebRTCRTPTransceiver* trans = nullptr;
    g_signal_emit_by_name(webrtc_, "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
                          caps, &trans);
    gst_caps_unref(caps);
    if (trans) {
      if (options_.nack && kind == kinds[0])
        g_object_set(trans, "do-nack", TRUE, nullptr);
      gst_object_unref(trans);
    }
  }
  if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin")) {
    // The video jitter buffer, known by the SSRC of the answer's video. And
    // webrtcbin 1.22 turns retransmission on only for SSRCs it can tie to a
    // transceiver by the RTP mid extension, which the engine does not send.
    g_signal_connect_after(
        rtpbin, "new-jitterbuffer",
        G_CALLBACK(+[](GstElement*, GstElement* jitterbuffer, guint, guint ssrc, gpointer data) {
          auto* self = static_cast<WhepClient*>(data);
          std::lock_guard lock(self->mutex_);
          if (ssrc != self->video_ssrc_)
            return;
          self->video_jitterbuffer_ = jitterbuffer;  // lives as long as the pipeline
          if (self->options_.nack)
            g_object_set(jitterbuffer, "do-retransmission", TRUE, nullptr);
        }),
        this);
    gst_object_unref(rtpbin);
  }
  g_signal_connect(webrtc_, "pad-added", G_CALLBACK(onPadAdded), this);
  g_signal_connect(webrtc_, "notify::connection-state",
                   G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer self) {
                     GstWebRTCPeerConnectionState s;
                     g_object_get(w, "connection-state", &s, nullptr);
                     bool up = s == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED;
                     static_cast<WhepClient*>(self)->connected_ = up;
                     if (up)
                       WhepClient::reportEverySecond(w,
                                                     static_cast<WhepClient*>(self)->options_.nack);
                   }),
                   this);
  g_signal_connect(webrtc_, "notify::ice-gathering-state",
                   G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer data) {
                     auto* self = static_cast<WhepClient*>(data);
                     GstWebRTCICEGatheringState s;
                     g_object_get(w, "ice-gathering-state", &s, nullptr);
                     if (s != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
                       return;
                     GstWebRTCSessionDescription* desc = nullptr;
                     g_object_get(w, "local-description", &desc, nullptr);
                     if (!desc)
                       return;
                     gchar* text = gst_sdp_message_as_text(desc->sdp);
                     gst_webrtc_session_description_free(desc);
                     {
                       std::lock_guard lock(self->mutex_);
                       self->offer_ = text;
                       self->offer_ready_ = true;
                     }
                     g_free(text);
                     offer_cv.notify_all();
                   }),
                   this);
  gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  GstPromise* promise = gst_promise_new_with_change_func(
      +[](GstPromise* p, gpointer data) {
        auto* self = static_cast<WhepClient*>(data);
        const GstStructure* reply = gst_promise_get_reply(p);
        GstWebRTCSessionDescription* offer = nullptr;
        if (reply)
          gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
        gst_promise_unref(p);
        if (!offer)
          return;
        g_signal_emit_by_name(self->webrtc_, "set-local-description", offer, nullptr);
        gst_webrtc_session_description_free(offer);
      },
      this, nullptr);
  g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise);
}

WhepClient::~WhepClient() {
  close();
  gst_object_unref(pipeline_);
}

void WhepClient::close() {
  if (pipeline_)
    gst_element_set_state(pipeline_, GST_STATE_NULL);
  connected_ = false;
}

std::string WhepClient::offer(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  offer_cv.wait_for(lock, timeout, [&] { return offer_ready_; });
  return offer_;
}

bool WhepClient::setAnswer(const std::string& sdp) {
  GstSDPMessage* message = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &message) != GST_SDP_OK)
    return false;
  for (guint i = 0; i < gst_sdp_message_medias_len(message); ++i) {
    const GstSDPMedia* media = gst_sdp_message_get_media(message, i);
    const gchar* ssrc = gst_sdp_media_get_attribute_val(media, "ssrc");
    if (ssrc && g_strcmp0(gst_sdp_media_get_media(media), "video") == 0) {
      std::lock_guard lock(mutex_);
      video_ssrc_ = static_cast<uint32_t>(std::strtoul(ssrc, nullptr, 10));
    }
  }
  GstWebRTCSessionDescription* answer =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, message);
  GstPromise* promise = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "set-remote-description", answer, promise);
  gst_promise_wait(promise);
  const GstStructure* reply = gst_promise_get_reply(promise);
  bool ok = !(reply && gst_structure_has_field(reply, "error"));
  gst_promise_unref(promise);
  gst_webrtc_session_description_free(answer);
  return ok;
}

long WhepClient::connect(const std::string& url, std::string* location, const std::string& bearer) {
  std::string sdp = offer();
  if (sdp.empty())
    return 0;
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = sdp;
  req.headers.emplace_back("Content-Type", "application/sdp");
  if (!bearer.empty())
    req.headers.emplace_back("Authorization", "Bearer " + bearer);
  auto resp = http(req);
  if (resp.status == 201) {
    if (location)
      *location = resp.header("location");
    if (!setAnswer(resp.body))
      return -1;
  }
  return resp.status;
}

void WhepClient::reportEverySecond(GstElement* webrtc, bool nack) {
  // Browsers send receiver reports about every second; GStreamer's default
  // minimum interval is 5 s.
  GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
  if (!rtpbin)
    return;
  GObject* session = nullptr;
  g_signal_emit_by_name(rtpbin, "get-internal-session", 0u, &session);
  if (session) {
    g_object_set(session, "rtcp-min-interval", static_cast<guint64>(GST_SECOND), nullptr);
    if (nack) {
      // Let NACKs go out sooner (rtpsession still sends them with its
      // regular reports, about every 0.4 s here).
      g_object_set(session, "rtcp-min-interval", static_cast<guint64>(20 * GST_MSECOND),
                   "rtcp-rr-bandwidth", 200000, nullptr);
    }
    g_object_unref(session);
  }
  gst_object_unref(rtpbin);
}

void WhepClient::onPadAdded(GstElement*, GstPad* pad, gpointer data) {
  auto* self = static_cast<WhepClient*>(data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps)
    caps = gst_pad_query_caps(pad, nullptr);
  const gchar* media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
  bool video = media && g_str_equal(media, "video");
  gst_caps_unref(caps);
  if (video)
    self->linkVideo(pad);
  else
    self->linkAudio(pad);
}

void WhepClient::linkVideo(GstPad* pad) {
  // Byte-stream, as the server's own ingest depayloads: parameter sets stay in
  // band, so one repeated between the slices of a picture shows (the
  // depayloader then cuts the picture there), as it would for a browser.
  const std::string kByteStream = "video/x-h264,stream-format=byte-stream,alignment=au";
  std::string desc =
      options_.decode ? "rtph264depay name=depay request-keyframe=true ! " + kByteStream +
                            " ! h264parse ! "
                            "avdec_h264 ! videoconvert ! video/x-raw,format=RGB ! "
                            "appsink name=sink sync=false emit-signals=true max-buffers=2 drop=true"
                      : "rtph264depay name=depay ! " + kByteStream +
                            " ! appsink name=sink sync=false "
                            "emit-signals=true max-buffers=4 drop=true";
  GError* error = nullptr;
  GstElement* bin = gst_parse_bin_from_description(desc.c_str(), TRUE, &error);
  if (!bin) {
    g_printerr("video branch: %s\n", error->message);
    g_clear_error(&error);
    return;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
  g_signal_connect(sink, "new-sample", G_CALLBACK(onVideoSample), this);
  gst_object_unref(sink);
  video_depay_ = gst_bin_get_by_name(GST_BIN(bin), "depay");
  gst_object_unref(video_depay_);  // the bin keeps it alive with the pipeline
  GstPad* depay_src = gst_element_get_static_pad(video_depay_, "src");
  gst_pad_add_probe(depay_src, GST_PAD_PROBE_TYPE_BUFFER, onAccessUnit, this, nullptr);
  gst_object_unref(depay_src);
  gst_bin_add(GST_BIN(pipeline_), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

void WhepClient::linkAudio(GstPad* pad) {
  std::string desc = options_.decode
                         ? "rtpopusdepay ! opusdec ! audioconvert ! "
                           "audio/x-raw,format=S16LE ! appsink name=sink sync=false "
                           "emit-signals=true max-buffers=4 drop=true"
                         : "rtpopusdepay ! appsink name=sink sync=false emit-signals=true "
                           "max-buffers=4 drop=true";
  GError* error = nullptr;
  GstElement* bin = gst_parse_bin_from_description(desc.c_str(), TRUE, &error);
  if (!bin) {
    g_printerr("audio branch: %s\n", error->message);
    g_clear_error(&error);
    return;
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
  g_signal_connect(sink, "new-sample", G_CALLBACK(onAudioSample), this);
  gst_object_unref(sink);
  gst_bin_add(GST_BIN(pipeline_), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

GstPadProbeReturn WhepClient::onAccessUnit(GstPad* pad, GstPadProbeInfo* info, gpointer data) {
  auto* self = static_cast<WhepClient*>(data);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  auto framing = media::h264::framingOf(caps);
  if (caps)
    gst_caps_unref(caps);
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (!framing || !gst_buffer_map(buffer, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  Keyframe keyframe;
  keyframe.bytes = map.size;
  bool first = true;
  for (const auto& nal : media::h264::split(map.data, map.size, *framing)) {
    if (nal.type() != 5)
      continue;
    if (first)
      keyframe.starts_at_top = media::h264::firstMbInSlice(nal) == 0;
    first = false;
    ++keyframe.slices;
  }
  keyframe.ordered = !media::h264::keepPictureWhole(map.data, map.size, *framing);
  gst_buffer_unmap(buffer, &map);
  if (keyframe.slices > 0) {
    std::lock_guard lock(self->mutex_);
    self->keyframes_.push_back(keyframe);
  }
  return GST_PAD_PROBE_OK;
}

std::vector<WhepClient::Keyframe> WhepClient::keyframes() const {
  std::lock_guard lock(mutex_);
  return keyframes_;
}

GstFlowReturn WhepClient::onVideoSample(GstElement* sink, gpointer data) {
  auto* self = static_cast<WhepClient*>(data);
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  if (!sample)
    return GST_FLOW_OK;
  uint64_t index = ++self->video_frames_;
  self->last_frame_wall_ns_ = wallNs();
  if (self->options_.decode) {
    GstVideoInfo info;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_video_info_from_caps(&info, gst_sample_get_caps(sample)) &&
        gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      Frame frame;
      frame.width = GST_VIDEO_INFO_WIDTH(&info);
      frame.height = GST_VIDEO_INFO_HEIGHT(&info);
      frame.index = index;
      int stride = GST_VIDEO_INFO_PLANE_STRIDE(&info, 0);
      frame.rgb.resize(static_cast<size_t>(frame.width) * frame.height * 3);
      for (int y = 0; y < frame.height; ++y)
        memcpy(&frame.rgb[static_cast<size_t>(y) * frame.width * 3], map.data + y * stride,
               static_cast<size_t>(frame.width) * 3);
      gst_buffer_unmap(buffer, &map);
      std::lock_guard lock(self->mutex_);
      self->last_ = std::move(frame);
    }
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

GstFlowReturn WhepClient::onAudioSample(GstElement* sink, gpointer data) {
  auto* self = static_cast<WhepClient*>(data);
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink));
  if (!sample)
    return GST_FLOW_OK;
  ++self->audio_buffers_;
  if (self->options_.decode) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      const auto* s = reinterpret_cast<const int16_t*>(map.data);
      size_t n = map.size / 2;
      double sum = 0;
      for (size_t i = 0; i < n; ++i)
        sum += double(s[i]) * s[i];
      self->audio_rms_ = n ? std::sqrt(sum / n) : 0;
      gst_buffer_unmap(buffer, &map);
    }
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

WhepClient::Frame WhepClient::lastFrame() const {
  std::lock_guard lock(mutex_);
  return last_;
}

std::vector<GstElement*> WhepClient::inside(const char* factory) const {
  std::vector<GstElement*> out;
  GstIterator* it = gst_bin_iterate_recurse(GST_BIN(webrtc_));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    auto* element = GST_ELEMENT(g_value_get_object(&item));
    GstElementFactory* f = gst_element_get_factory(element);
    if (f && g_str_equal(gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f)), factory))
      out.push_back(element);  // alive as long as the pipeline
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  return out;
}

bool WhepClient::dropsVideo(GstBuffer* buffer) {
  GstMapInfo map;
  if (!gst_buffer_map(buffer, &map, GST_MAP_READ))
    return false;
  bool video =
      map.size >= 12 && map.data[0] >= 128 && map.data[0] <= 191 && (map.data[1] & 0x7f) == 102;
  int seq = video ? (map.data[2] << 8) | map.data[3] : -1;
  gst_buffer_unmap(buffer, &map);
  unsigned one_in = drop_one_in_;
  if (!video || one_in == 0)
    return false;
  // A packet sent again as itself (no RTX) carries a sequence number
  // dropped before: the network lost the original, not the retransmission
  // (as RTX passes, so does this).
  if (std::find(dropped_seqs_.begin(), dropped_seqs_.end(), seq) != dropped_seqs_.end())
    return false;
  if (++video_seen_ % one_in != 0)
    return false;
  dropped_seqs_[dropped_at_++ % dropped_seqs_.size()] = seq;
  ++video_dropped_;
  return true;
}

void WhepClient::dropVideo(unsigned one_in) {
  drop_one_in_ = one_in;
  if (drop_probe_)
    return;
  drop_probe_ = true;
  for (GstElement* src : inside("nicesrc")) {
    GstPad* pad = gst_element_get_static_pad(src, "src");
    gst_pad_add_probe(
        pad,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        +[](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          auto* self = static_cast<WhepClient*>(data);
          if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
            return self->dropsVideo(GST_PAD_PROBE_INFO_BUFFER(info)) ? GST_PAD_PROBE_DROP
                                                                     : GST_PAD_PROBE_OK;
          }
          GstBufferList* list = gst_buffer_list_make_writable(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
          gst_buffer_list_foreach(
              list,
              +[](GstBuffer** buffer, guint, gpointer data) -> gboolean {
                if (static_cast<WhepClient*>(data)->dropsVideo(*buffer)) {
                  gst_buffer_unref(*buffer);
                  *buffer = nullptr;  // removed from the list
                }
                return TRUE;
              },
              self);
          GST_PAD_PROBE_INFO_DATA(info) = list;
          return GST_PAD_PROBE_OK;
        },
        this, nullptr);
    gst_object_unref(pad);
  }
}

void WhepClient::kill() {
  // Nothing leaves from here on, not even the RTCP BYE of a pipeline that
  // stops; then the pipeline (and its ICE agent, with its keepalives) goes.
  for (GstElement* sink : inside("nicesink")) {
    GstPad* pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(
        pad,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        +[](GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr, nullptr);
    gst_object_unref(pad);
  }
  close();
}

uint64_t WhepClient::jitterStat(const char* field) const {
  GstElement* jb = nullptr;
  {
    std::lock_guard lock(mutex_);
    jb = video_jitterbuffer_;
  }
  if (!jb)
    return 0;
  GstStructure* stats = nullptr;
  g_object_get(jb, "stats", &stats, nullptr);
  guint64 value = 0;
  if (stats) {
    gst_structure_get_uint64(stats, field, &value);
    gst_structure_free(stats);
  }
  return value;
}

uint64_t WhepClient::packetsLost() const {
  return jitterStat("num-lost");
}

uint64_t WhepClient::retransmissionsReceived() const {
  return jitterStat("rtx-success-count");
}

void WhepClient::requestKeyframe() {
  if (!video_depay_)
    return;
  // As a browser does: feedback may go out early more than once per regular
  // RTCP interval (5 s by default in rtpsession).
  if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin")) {
    GstElement* session = nullptr;
    g_signal_emit_by_name(rtpbin, "get-session", 0u, &session);
    if (session) {
      g_object_set(session, "rtcp-min-interval", static_cast<guint64>(300 * GST_MSECOND), nullptr);
      gst_object_unref(session);
    }
    gst_object_unref(rtpbin);
  }
  GstPad* sinkpad = gst_element_get_static_pad(video_depay_, "sink");
  gst_pad_push_event(sinkpad,
                     gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
  gst_object_unref(sinkpad);
}

}  // namespace jobcast::test
