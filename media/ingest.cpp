// Runs on the control thread except the callbacks marked "streaming thread",
// which only copy data and post tasks through Post (keyed by session id).

#include "media/ingest.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include <cstdlib>
#include <utility>

#include "core/log.h"
#include "media/h264_access_unit.h"

namespace jobcast::media {
namespace {

int64_t monotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a signal handler or promise callback gets: how to reach its session.
struct Ctx {
  Ingest::Post post;
};
void freeCtx(gpointer data) {
  delete static_cast<Ctx*>(data);
}
void freeCtxClosure(gpointer data, GClosure*) {
  delete static_cast<Ctx*>(data);
}

// Streaming thread.
void onRemoteSetReply(GstPromise* promise, gpointer data) {
  auto* ctx = static_cast<Ctx*>(data);
  std::string error;
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
    error = "interrupted";
  } else {
    error = promiseReplyError(gst_promise_get_reply(promise));
  }
  ctx->post([error](Ingest& p) { p.onRemoteDescriptionSet(error.empty(), error); });
}

// Streaming thread.
void onAnswerReply(GstPromise* promise, gpointer data) {
  auto* ctx = static_cast<Ctx*>(data);
  std::string error;
  std::string sdp;
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
    error = "interrupted";
  } else {
    const GstStructure* reply = gst_promise_get_reply(promise);
    error = promiseReplyError(reply);
    GstWebRTCSessionDescription* answer = nullptr;
    if (error.empty() && reply)
      gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
    DescriptionPtr owned(answer);
    if (answer)
      sdp = sdpText(answer->sdp);
    else if (error.empty())
      error = "no answer";
  }
  ctx->post([sdp, error](Ingest& p) { p.onAnswerCreated(sdp, error); });
}

// Streaming thread.
void onPadAdded(GstElement*, GstPad* pad, gpointer data) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
    return;
  auto* ctx = static_cast<Ctx*>(data);
  CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps)
    caps.reset(gst_pad_query_caps(pad, nullptr));
  std::string kind;
  if (caps && gst_caps_get_size(caps.get()) > 0) {
    const char* media = gst_structure_get_string(gst_caps_get_structure(caps.get(), 0), "media");
    kind = media ? media : "";
  }
  // Hold the data until the control thread has linked the pad.
  gulong probe = gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM,
      [](GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_OK; }, nullptr, nullptr);
  auto shared = sharedRef(pad);
  ctx->post([shared, kind, probe](Ingest& p) { p.onIncomingPad(shared, kind, probe); });
}

// Streaming thread (libnice / webrtcbin).
void onGatheringNotify(GObject* webrtc, GParamSpec*, gpointer data) {
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  int value = static_cast<int>(state);
  static_cast<Ctx*>(data)->post([value](Ingest& p) { p.onGatheringState(value); });
}

// Streaming thread.
void onConnectionNotify(GObject* webrtc, GParamSpec*, gpointer data) {
  GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  int value = static_cast<int>(state);
  static_cast<Ctx*>(data)->post([value](Ingest& p) { p.onConnectionState(value); });
}

// Streaming thread: notes when the publisher's video last flowed.
GstPadProbeReturn onVideoData(GstPad*, GstPadProbeInfo*, gpointer data) {
  (*static_cast<std::shared_ptr<std::atomic<int64_t>>*>(data))
      ->store(monotonicMs(), std::memory_order_relaxed);
  return GST_PAD_PROBE_OK;
}

}  // namespace

// The publisher's RTP timestamps (its own 90 kHz media clock) of the newest
// video packet and of the newest keyframe (until the first keyframe, of the
// first packet). Written on the streaming thread, read on the control thread.
struct PublisherGop {
  std::atomic<uint32_t> latest{0};
  std::atomic<uint32_t> keyframe{0};
  std::atomic<bool> started{false};
};

namespace {

// True when an H.264 RTP payload (RFC 6184) carries or starts an IDR slice:
// a single NAL unit, one inside a STAP-A, or the first fragment of a FU-A.
bool startsIdr(const guint8* p, guint size) {
  if (size < 2)
    return false;
  guint8 type = p[0] & 0x1f;
  if (type == 5)
    return true;
  if (type == 28)
    return (p[1] & 0x80) && (p[1] & 0x1f) == 5;
  if (type == 24) {
    for (guint i = 1; i + 2 < size;) {
      guint len = (guint{p[i]} << 8) | p[i + 1];
      if ((p[i + 2] & 0x1f) == 5)
        return true;
      i += 2 + len;
    }
  }
  return false;
}

// Streaming thread: the publisher's RTP video before depayloading.
GstPadProbeReturn onPublisherRtp(GstPad*, GstPadProbeInfo* info, gpointer data) {
  PublisherGop* gop = static_cast<std::shared_ptr<PublisherGop>*>(data)->get();
  auto note = [gop](GstBuffer* buffer) {
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(buffer, GST_MAP_READ, &rtp))
      return TRUE;
    uint32_t ts = gst_rtp_buffer_get_timestamp(&rtp);
    auto* payload = static_cast<const guint8*>(gst_rtp_buffer_get_payload(&rtp));
    bool idr = payload && startsIdr(payload, gst_rtp_buffer_get_payload_len(&rtp));
    gst_rtp_buffer_unmap(&rtp);
    bool first = !gop->started.load(std::memory_order_relaxed);
    // Only forward in media time: a reordered older packet is not news.
    if (first || static_cast<int32_t>(ts - gop->latest.load(std::memory_order_relaxed)) > 0)
      gop->latest.store(ts, std::memory_order_relaxed);
    if (idr || first)
      gop->keyframe.store(ts, std::memory_order_relaxed);
    if (first)
      gop->started.store(true, std::memory_order_release);
    return TRUE;
  };
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
    note(GST_PAD_PROBE_INFO_BUFFER(info));
  } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
    gst_buffer_list_foreach(
        GST_PAD_PROBE_INFO_BUFFER_LIST(info),
        [](GstBuffer** b, guint, gpointer fn) -> gboolean {
          return (*static_cast<decltype(note)*>(fn))(*b);
        },
        &note);
  }
  return GST_PAD_PROBE_OK;
}

}  // namespace

Ingest::Ingest(Loop& loop, GstBin* pipeline, const MediaOptions& options, std::string room,
               std::string session, Events events, Post post)
    : loop_(loop),
      pipeline_(pipeline),
      options_(options),
      room_(std::move(room)),
      session_(std::move(session)),
      events_(std::move(events)),
      post_(std::move(post)),
      last_video_ms_(std::make_shared<std::atomic<int64_t>>(0)),
      gop_(std::make_shared<PublisherGop>()) {}

Ingest::~Ingest() {
  stop();
}

void Ingest::stop() {
  state_ = State::Stopped;
  keyframe_timer_.cancel();
  health_timer_.cancel();
  gather_timer_.cancel();
}

GstElement* Ingest::add(const char* factory, const char* name) {
  return addElement(pipeline_, factory, name);
}

Result<bool> Ingest::build() {
  auto missing = [](const char* what) {
    return Error{"media_unavailable", std::string("GStreamer element missing: ") + what};
  };
  webrtc_ = add("webrtcbin", "webrtc");
  if (!webrtc_)
    return missing("webrtcbin");
  gst_util_set_object_arg(G_OBJECT(webrtc_), "bundle-policy", "max-bundle");
  g_object_set(webrtc_, "latency", static_cast<guint>(options_.jitter_latency_ms), nullptr);
  if (!options_.stun_servers.empty())
    g_object_set(webrtc_, "stun-server", options_.stun_servers.front().c_str(), nullptr);
  for (const auto& turn : options_.turn_servers) {
    gboolean ok = FALSE;
    g_signal_emit_by_name(webrtc_, "add-turn-server", turn.c_str(), &ok);
    if (!ok)
      log::warn("TURN server refused", {{"room", room_}});
  }
  g_signal_connect_data(webrtc_, "pad-added", G_CALLBACK(onPadAdded), new Ctx{post_},
                        freeCtxClosure, GConnectFlags(0));
  g_signal_connect_data(webrtc_, "notify::ice-gathering-state", G_CALLBACK(onGatheringNotify),
                        new Ctx{post_}, freeCtxClosure, GConnectFlags(0));
  g_signal_connect_data(webrtc_, "notify::connection-state", G_CALLBACK(onConnectionNotify),
                        new Ctx{post_}, freeCtxClosure, GConnectFlags(0));

  GstElement* depay = add("rtph264depay");
  GstElement* parse = add("h264parse");
  GstElement* vcaps = add("capsfilter");
  if (!depay || !parse || !vcaps)
    return missing("rtph264depay/h264parse");
  g_object_set(depay, "request-keyframe", TRUE, "wait-for-keyframe", TRUE, nullptr);
  g_object_set(parse, "config-interval", -1, nullptr);
  CapsPtr h264(gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au"));
  g_object_set(vcaps, "caps", h264.get(), nullptr);
  if (!gst_element_link_many(depay, parse, vcaps, nullptr))
    return Error{"media_error", "cannot link the video input"};
  video_in_ = depay;
  video_out_ = vcaps;
  {
    // Keyframes whose slices each carry SPS/PPS stay one access unit.
    GstPtr<GstPad> parse_in(gst_element_get_static_pad(parse, "sink"));
    h264::keepPicturesWhole(parse_in.get());
  }
  audio_in_ = audio_out_ = add("rtpopusdepay");
  if (!audio_in_)
    return missing("rtpopusdepay");
  {
    // The publisher's own video (before any programme switch) tells whether
    // they are still there; its RTP, the publisher's keyframe rhythm.
    GstPtr<GstPad> pad(gst_element_get_static_pad(vcaps, "src"));
    gst_pad_add_probe(
        pad.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        onVideoData, new std::shared_ptr<std::atomic<int64_t>>(last_video_ms_),
        [](gpointer d) { delete static_cast<std::shared_ptr<std::atomic<int64_t>>*>(d); });
    pad.reset(gst_element_get_static_pad(depay, "sink"));
    gst_pad_add_probe(pad.get(),
                      GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      onPublisherRtp, new std::shared_ptr<PublisherGop>(gop_),
                      [](gpointer d) { delete static_cast<std::shared_ptr<PublisherGop>*>(d); });
  }
  return true;
}

void Ingest::fail(const std::string& error) {
  if (state_ == State::Negotiating) {
    state_ = State::Answered;
    events_.answer(Error{"media_error", "media pipeline failed: " + error});
  }
  lose("pipeline_error");
}

void Ingest::negotiate(SdpPtr offer, std::vector<OfferedMedia> media) {
  media_ = std::move(media);
  // Codec preferences for the answer come from the offer's own payload types.
  for (auto& m : media_) {
    const GstSDPMedia* sm = gst_sdp_message_get_media(offer.get(), m.mline);
    if (m.kind == "video") {
      const char* ssrc = gst_sdp_media_get_attribute_val(sm, "ssrc");
      if (ssrc)
        video_ssrc_ = static_cast<guint>(std::strtoul(ssrc, nullptr, 10));
      video_payload_ = m.payload > 0 ? static_cast<guint>(m.payload) : 0;
    }
    GstCaps* caps = gst_sdp_media_get_caps_from_media(sm, m.payload);
    if (caps) {
      GstStructure* s = gst_caps_get_structure(caps, 0);
      gst_structure_set_name(s, "application/x-rtp");
      preferences_[m.mline] = CapsPtr(caps);
    }
  }
  if (gst_element_set_state(GST_ELEMENT(pipeline_), GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    events_.answer(Error{"media_error", "the room pipeline did not start"});
    return;
  }
  GstWebRTCSessionDescription* desc =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, offer.release());
  DescriptionPtr owned(desc);
  GstPromise* promise = gst_promise_new_with_change_func(onRemoteSetReply, new Ctx{post_}, freeCtx);
  g_signal_emit_by_name(webrtc_, "set-remote-description", desc, promise);
  gst_promise_unref(promise);
}

void Ingest::onRemoteDescriptionSet(bool ok, std::string error) {
  if (state_ == State::Stopped)
    return;
  if (!ok) {
    events_.answer(Error{"bad_sdp", "the offer was not accepted: " + error});
    return;
  }
  GArray* transceivers = nullptr;
  g_signal_emit_by_name(webrtc_, "get-transceivers", &transceivers);
  for (guint i = 0; transceivers && i < transceivers->len; ++i) {
    auto* t = g_array_index(transceivers, GstWebRTCRTPTransceiver*, i);
    guint mline = 0;
    g_object_get(t, "mlineindex", &mline, nullptr);
    auto it = preferences_.find(mline);
    if (it != preferences_.end()) {
      g_object_set(t, "codec-preferences", it->second.get(), nullptr);
      gst_util_set_object_arg(G_OBJECT(t), "direction", "recvonly");
    }
  }
  if (transceivers)
    g_array_unref(transceivers);
  GstPromise* promise = gst_promise_new_with_change_func(onAnswerReply, new Ctx{post_}, freeCtx);
  g_signal_emit_by_name(webrtc_, "create-answer", nullptr, promise);
  gst_promise_unref(promise);
}

void Ingest::onAnswerCreated(std::string sdp, std::string error) {
  if (state_ == State::Stopped)
    return;
  if (!error.empty()) {
    events_.answer(Error{"bad_sdp", "no answer for this offer: " + error});
    return;
  }
  SdpPtr parsed = parseSdp(sdp);
  if (!parsed) {
    events_.answer(Error{"media_error", "webrtcbin produced an unreadable answer"});
    return;
  }
  GstWebRTCSessionDescription* desc =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, parsed.release());
  DescriptionPtr owned(desc);
  GstPromise* promise = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "set-local-description", desc, promise);
  gst_promise_unref(promise);
  // The answer goes out with every candidate (WHIP without trickle): wait for
  // gathering to complete, but never long.
  gather_timer_.start(loop_, std::chrono::milliseconds(3000), [this] {
    finishAnswer();
    return false;
  });
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc_, "ice-gathering-state", &state, nullptr);
  onGatheringState(static_cast<int>(state));
}

void Ingest::onGatheringState(int state) {
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && state_ == State::Negotiating) {
    // The local description is updated from webrtcbin's own thread: read it after
    // set-local-description has surely run.
    GstWebRTCSessionDescription* local = nullptr;
    g_object_get(webrtc_, "local-description", &local, nullptr);
    DescriptionPtr owned(local);
    if (local)
      finishAnswer();
  }
}

void Ingest::finishAnswer() {
  if (state_ != State::Negotiating)
    return;
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_, "local-description", &local, nullptr);
  DescriptionPtr owned(local);
  if (!local) {
    events_.answer(Error{"media_error", "no local description"});
    return;
  }
  state_ = State::Answered;
  gather_timer_.cancel();
  std::string sdp = addPublicAddress(sdpText(local->sdp), options_.public_ip);
  created_ = std::chrono::steady_clock::now();
  health_timer_.start(loop_, std::chrono::milliseconds(250), [this] {
    checkMedia();
    return true;
  });
  events_.answer(sdp);
}

void Ingest::onIncomingPad(std::shared_ptr<GstPad> pad, std::string kind, gulong probe) {
  if (state_ == State::Stopped) {
    gst_pad_remove_probe(pad.get(), probe);
    return;
  }
  GstElement* target = nullptr;
  if (kind == "video" && video_in_) {
    target = std::exchange(video_in_, nullptr);  // the first video stream only
    CapsPtr caps(gst_pad_get_current_caps(pad.get()));
    guint ssrc = 0;
    if (caps && gst_caps_get_size(caps.get()) > 0 &&
        gst_structure_get_uint(gst_caps_get_structure(caps.get(), 0), "ssrc", &ssrc) && ssrc) {
      video_ssrc_ = ssrc;
    }
    gint payload = 0;
    if (caps && gst_caps_get_size(caps.get()) > 0 &&
        gst_structure_get_int(gst_caps_get_structure(caps.get(), 0), "payload", &payload) &&
        payload > 0) {
      video_payload_ = static_cast<guint>(payload);
    }
    // A keyframe at least every segment: ask the publisher (RTCP PLI) when
    // its own keyframes do not come that often. A publisher with a regular
    // short GOP is never asked: extra keyframes between its own would cut
    // segments short.
    requestKeyframe();
    keyframe_timer_.start(loop_, std::chrono::milliseconds(250), [this] {
      // Measured on the publisher's media clock, not the wall clock: on a
      // busy machine packets arrive in bursts, so a regular keyframe can look
      // late; asking then gives an extra keyframe just after the regular one,
      // a GOP of a few frames and a segment that short.
      if (!gop_->started.load(std::memory_order_acquire))
        return true;
      // Once media flows the RTP session exists: let our feedback out often
      // enough (the asks below, the switches' and the stage's asks).
      if (!rtcp_interval_lowered_)
        rtcp_interval_lowered_ = lowerRtcpInterval();
      uint32_t latest = gop_->latest.load(std::memory_order_relaxed);
      auto elapsedMs = [latest](uint32_t since) {
        return static_cast<int64_t>(static_cast<int32_t>(latest - since)) / 90;
      };
      int64_t segment = options_.segment_seconds * 1000;
      int64_t since_keyframe = elapsedMs(gop_->keyframe.load(std::memory_order_relaxed));
      bool asked_recently = last_keyframe_ask_rtp_ && elapsedMs(*last_keyframe_ask_rtp_) < segment;
      if (since_keyframe >= segment && !asked_recently) {
        last_keyframe_ask_rtp_ = latest;
        requestKeyframe();
      }
      return true;
    });
  } else if (kind == "audio" && audio_in_) {
    target = std::exchange(audio_in_, nullptr);
  } else {
    // A stream we do not use (a second video, say): drain it.
    target = add("fakesink");
    g_object_set(target, "sync", FALSE, "async", FALSE, nullptr);
    gst_element_sync_state_with_parent(target);
  }
  GstPtr<GstPad> sink(gst_element_get_static_pad(target, "sink"));
  if (gst_pad_link(pad.get(), sink.get()) != GST_PAD_LINK_OK) {
    log::error("cannot link incoming stream",
               {{"room", room_}, {"session", session_}, {"kind", kind}});
  }
  log::info("publisher stream linked", {{"room", room_},
                                        {"session", session_},
                                        {"kind", kind},
                                        {"ssrc", kind == "video" ? video_ssrc_ : 0}});
  gst_pad_remove_probe(pad.get(), probe);
}

bool Ingest::lowerRtcpInterval() {
  if (!webrtc_)
    return false;
  GstPtr<GstElement> rtpbin(gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin"));
  if (!rtpbin)
    return false;
  GstElement* session = nullptr;
  g_signal_emit_by_name(rtpbin.get(), "get-session", 0u, &session);
  GstPtr<GstElement> owned(session);
  if (!session)
    return false;
  // AVPF lets feedback out early only once per regular RTCP interval (5 s by
  // default): shorten it so a PLI can go out every segment.
  g_object_set(session, "rtcp-min-interval", static_cast<guint64>(300 * GST_MSECOND), nullptr);
  return true;
}

void Ingest::requestKeyframe() {
  // webrtcbin drops the GstForceKeyUnit events hlssink2 sends upstream before
  // they reach its RTP session, so send one straight to the session's receive
  // pad, naming the publisher's video SSRC and payload type; rtpsession turns
  // it into RTCP PLI. It needs both fields: without "payload" it cannot look up
  // the feedback the publisher accepts and passes the event on unanswered.
  if (!webrtc_ || video_ssrc_ == 0 || video_payload_ == 0 || state_ == State::Stopped)
    return;
  GstPtr<GstElement> rtpbin(gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin"));
  if (!rtpbin)
    return;
  GstElement* session = nullptr;
  g_signal_emit_by_name(rtpbin.get(), "get-session", 0u, &session);
  GstPtr<GstElement> owned(session);
  if (!session)
    return;
  lowerRtcpInterval();
  GstPtr<GstPad> pad(gst_element_get_static_pad(session, "recv_rtp_src"));
  if (!pad)
    return;
  GstEvent* event = gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, FALSE, 0);
  gst_structure_set(gst_event_writable_structure(event), "ssrc", G_TYPE_UINT, video_ssrc_,
                    "payload", G_TYPE_UINT, video_payload_, nullptr);
  gst_pad_send_event(pad.get(), event);
}

void Ingest::onConnectionState(int state) {
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    lose("connection_failed");
  else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
    lose("connection_closed");
}

void Ingest::checkMedia() {
  if (state_ != State::Answered && state_ != State::Flowing)
    return;
  int64_t last = last_video_ms_->load(std::memory_order_relaxed);
  int64_t now = monotonicMs();
  if (last > 0) {
    if (state_ == State::Answered) {
      state_ = State::Flowing;
      if (events_.flowing)
        events_.flowing();
      if (state_ != State::Flowing)
        return;  // lost or stopped meanwhile
    }
    if (now - last > options_.media_timeout_ms)
      lose("media_timeout");
  } else if (std::chrono::steady_clock::now() - created_ >
             std::chrono::milliseconds(options_.connect_timeout_ms)) {
    lose("no_media");
  }
}

void Ingest::lose(const std::string& reason) {
  if (state_ == State::Lost || state_ == State::Stopped)
    return;
  state_ = State::Lost;
  log::info("publisher lost", {{"room", room_}, {"session", session_}, {"reason", reason}});
  if (events_.gone)
    events_.gone(reason);
}

}  // namespace jobcast::media
