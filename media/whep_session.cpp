// webrtcbin signals, promise callbacks, bus sync handlers and pad probes in
// this file run on GStreamer threads: they touch only WhepSession::Shared
// (atomics and copies) and post Events to the control loop by session id.

#include "media/whep_session.h"

#include <gst/app/gstappsrc.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#ifndef GST_USE_UNSTABLE_API
#define GST_USE_UNSTABLE_API
#endif
#include <gst/webrtc/ice.h>
#include <gst/webrtc/webrtc.h>
#include <nice/agent.h>

#include <atomic>
#include <cstdlib>

#include "core/log.h"

namespace jobcast::media {
namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             SteadyClock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(g_ascii_tolower(c));
  return s;
}

// "packetization-mode=1;profile-level-id=42e01f" -> value of `name`.
std::string fmtpValue(const std::string& fmtp, const std::string& name) {
  size_t pos = 0;
  while (pos < fmtp.size()) {
    size_t end = fmtp.find(';', pos);
    if (end == std::string::npos)
      end = fmtp.size();
    std::string item = fmtp.substr(pos, end - pos);
    while (!item.empty() && item.front() == ' ')
      item.erase(0, 1);
    auto eq = item.find('=');
    if (eq != std::string::npos && lower(item.substr(0, eq)) == name)
      return item.substr(eq + 1);
    pos = end + 1;
  }
  return {};
}

// The payload type of an "rtx/90000" whose fmtp says apt=`payload`, or -1.
int rtxFor(const GstSDPMedia* media, int payload) {
  for (guint a = 0; a < gst_sdp_media_attributes_len(media); ++a) {
    const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, a);
    if (g_strcmp0(attr->key, "rtpmap") != 0 || !attr->value)
      continue;
    std::string value = attr->value;  // "103 rtx/90000"
    auto space = value.find(' ');
    if (space == std::string::npos || lower(value.substr(space + 1)) != "rtx/90000")
      continue;
    std::string prefix = value.substr(0, space + 1);
    for (guint f = 0; f < gst_sdp_media_attributes_len(media); ++f) {
      const GstSDPAttribute* fa = gst_sdp_media_get_attribute(media, f);
      if (g_strcmp0(fa->key, "fmtp") == 0 && fa->value &&
          std::string(fa->value).rfind(prefix, 0) == 0 &&
          fmtpValue(std::string(fa->value).substr(prefix.size()), "apt") ==
              std::to_string(payload)) {
        return std::atoi(value.c_str());
      }
    }
  }
  return -1;
}

}  // namespace

Result<ViewerOffer> ViewerOffer::parse(const std::string& sdp,
                                       const std::string& programme_profile) {
  GstSDPMessage* raw = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &raw) != GST_SDP_OK || !raw)
    return Error{"bad_sdp", "the offer is not valid SDP"};
  std::unique_ptr<GstSDPMessage, decltype(&gst_sdp_message_free)> message(raw,
                                                                          gst_sdp_message_free);
  guint count = gst_sdp_message_medias_len(message.get());
  if (count == 0)
    return Error{"bad_sdp", "the offer has no media"};
  ViewerOffer offer;
  std::string wanted_idc = lower(programme_profile.substr(0, 2));
  for (guint i = 0; i < count; ++i) {
    const GstSDPMedia* media = gst_sdp_message_get_media(message.get(), i);
    std::string kind = gst_sdp_media_get_media(media) ? gst_sdp_media_get_media(media) : "";
    if (kind != "video" && kind != "audio")
      return Error{"unsupported_media",
                   "only audio and video m-lines are answered, got '" + kind + "'"};
    Media chosen{kind, -1, {}, -1};
    int best_score = -1;
    for (guint a = 0; a < gst_sdp_media_attributes_len(media); ++a) {
      const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, a);
      if (g_strcmp0(attr->key, "rtpmap") != 0 || !attr->value)
        continue;
      std::string value = attr->value;  // "102 H264/90000"
      auto space = value.find(' ');
      if (space == std::string::npos)
        continue;
      int pt = std::atoi(value.substr(0, space).c_str());
      std::string encoding = lower(value.substr(space + 1));
      if (kind == "audio" && encoding.rfind("opus/48000", 0) == 0) {
        chosen.payload = pt;
        break;
      }
      if (kind != "video" || encoding != "h264/90000")
        continue;
      const gchar* fmtp_raw = nullptr;
      std::string prefix = std::to_string(pt) + " ";
      for (guint f = 0; f < gst_sdp_media_attributes_len(media); ++f) {
        const GstSDPAttribute* fa = gst_sdp_media_get_attribute(media, f);
        if (g_strcmp0(fa->key, "fmtp") == 0 && fa->value &&
            std::string(fa->value).rfind(prefix, 0) == 0) {
          fmtp_raw = fa->value + prefix.size();
        }
      }
      std::string fmtp = fmtp_raw ? fmtp_raw : "";
      if (fmtpValue(fmtp, "packetization-mode") != "1")
        continue;
      std::string plid = lower(fmtpValue(fmtp, "profile-level-id"));
      if (plid.size() != 6)
        plid = "42e01f";
      int score = 0;
      if (plid.substr(0, 2) == wanted_idc)
        score += 2;
      if (plid.substr(2, 2) == "e0")
        score += 1;
      if (score > best_score) {
        best_score = score;
        chosen.payload = pt;
        chosen.profile_level_id = plid;
      }
    }
    if (chosen.payload < 0) {
      return Error{"unsupported_codec", kind == "video"
                                            ? "the offer has no H.264 with packetization-mode=1"
                                            : "the offer has no Opus"};
    }
    if (kind == "video")
      chosen.rtx_payload = rtxFor(media, chosen.payload);
    offer.media.push_back(std::move(chosen));
  }
  return offer;
}

struct WhepSession::Shared {
  Loop* loop = nullptr;
  std::string id;
  EventSink sink;
  GstElement* webrtc = nullptr;  // valid while the session's pipeline lives
  std::atomic<bool> answered{false};
  std::atomic<int64_t> last_rtcp_us{0};
  std::atomic<int64_t> disconnected_since_us{0};
  std::atomic<bool> failed{false};

  void post(Event::Kind kind, std::string text = {}) {
    loop->post([sink = sink, event = Event{kind, id, std::move(text)}] { sink(event); });
  }

  // Reads webrtcbin's local description (with the candidates gathered so far).
  std::optional<std::string> localSdp() const {
    GstWebRTCSessionDescription* desc = nullptr;
    g_object_get(webrtc, "local-description", &desc, nullptr);
    if (!desc)
      return std::nullopt;
    GCharPtr text(gst_sdp_message_as_text(desc->sdp));
    gst_webrtc_session_description_free(desc);
    return std::string(text.get());
  }

  void answerOnce() {
    if (answered.exchange(true))
      return;
    auto sdp = localSdp();
    if (sdp)
      post(Event::Kind::Answer, *sdp);
    else
      post(Event::Kind::AnswerFailed, "no local description");
  }
};

namespace {

using SharedPtr = std::shared_ptr<WhepSession::Shared>;

// Signal and promise user data: a heap copy of the shared pointer, freed by GLib.
gpointer holdShared(const SharedPtr& shared) {
  return new SharedPtr(shared);
}
void releaseShared(gpointer data, GClosure* = nullptr) {
  delete static_cast<SharedPtr*>(data);
}
WhepSession::Shared& sharedOf(gpointer data) {
  return **static_cast<SharedPtr*>(data);
}

void onGatheringState(GstElement* webrtc, GParamSpec*, gpointer data) {
  GstWebRTCICEGatheringState state;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    sharedOf(data).answerOnce();
}

void onIceState(GstElement* webrtc, GParamSpec*, gpointer data) {
  auto& shared = sharedOf(data);
  GstWebRTCICEConnectionState state;
  g_object_get(webrtc, "ice-connection-state", &state, nullptr);
  if (state == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED) {
    int64_t zero = 0;
    shared.disconnected_since_us.compare_exchange_strong(zero, nowMicros());
  } else if (state == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
             state == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED) {
    shared.disconnected_since_us = 0;
  } else if (state == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) {
    if (!shared.failed.exchange(true))
      shared.post(WhepSession::Event::Kind::Gone, "ice_failed");
  }
}

void onReceivingRtcp(GObject*, GstBuffer*, gpointer data) {
  sharedOf(data).last_rtcp_us = nowMicros();
}

// Watches RTCP arriving from the viewer (receiver reports): a viewer whose
// reports stop is gone even if no ICE or DTLS state says so.
void watchRtcp(GstElement* webrtc, gpointer data) {
  ElementPtr rtpbin(gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin"));
  if (!rtpbin)
    return;
  GObject* session = nullptr;
  g_signal_emit_by_name(rtpbin.get(), "get-internal-session", 0u, &session);
  GObjectPtr<GObject> owned(session);
  if (session) {
    g_signal_connect_data(session, "on-receiving-rtcp", G_CALLBACK(onReceivingRtcp),
                          holdShared(*static_cast<SharedPtr*>(data)), releaseShared,
                          static_cast<GConnectFlags>(0));
  }
}

void onConnectionState(GstElement* webrtc, GParamSpec*, gpointer data) {
  auto& shared = sharedOf(data);
  GstWebRTCPeerConnectionState state;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) {
    shared.last_rtcp_us = nowMicros();
    watchRtcp(webrtc, data);
    shared.post(WhepSession::Event::Kind::Connected);
  } else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ||
             state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED) {
    if (!shared.failed.exchange(true)) {
      shared.post(WhepSession::Event::Kind::Gone,
                  state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED ? "dtls_failed" : "closed");
    }
  }
}

void onByeSsrc(GstElement*, guint, guint, gpointer data) {
  auto& shared = sharedOf(data);
  if (!shared.failed.exchange(true))
    shared.post(WhepSession::Event::Kind::Gone, "bye");
}

void onAnswerSet(GstPromise* promise, gpointer data) {
  gst_promise_unref(promise);
  auto& shared = sharedOf(data);
  GstWebRTCICEGatheringState state;
  g_object_get(shared.webrtc, "ice-gathering-state", &state, nullptr);
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
    shared.answerOnce();
}

void onAnswerCreated(GstPromise* promise, gpointer data) {
  auto& shared = sharedOf(data);
  GstWebRTCSessionDescription* answer = nullptr;
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
    const GstStructure* reply = gst_promise_get_reply(promise);
    if (reply && gst_structure_has_field(reply, "answer"))
      gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  }
  gst_promise_unref(promise);
  if (!answer) {
    if (!shared.answered.exchange(true))
      shared.post(WhepSession::Event::Kind::AnswerFailed, "webrtcbin made no answer");
    return;
  }
  GstPromise* set =
      gst_promise_new_with_change_func(onAnswerSet, holdShared(*static_cast<SharedPtr*>(data)),
                                       [](gpointer d) { releaseShared(d); });
  g_signal_emit_by_name(shared.webrtc, "set-local-description", answer, set);
  gst_webrtc_session_description_free(answer);
}

void onOfferSet(GstPromise* promise, gpointer data) {
  auto& shared = sharedOf(data);
  bool ok = gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED;
  const GstStructure* reply = ok ? gst_promise_get_reply(promise) : nullptr;
  if (reply && gst_structure_has_field(reply, "error")) {
    GError* error = nullptr;
    gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
    std::string message = error ? error->message : "rejected";
    g_clear_error(&error);
    gst_promise_unref(promise);
    if (!shared.answered.exchange(true))
      shared.post(WhepSession::Event::Kind::AnswerFailed, message);
    return;
  }
  gst_promise_unref(promise);
  GstPromise* create =
      gst_promise_new_with_change_func(onAnswerCreated, holdShared(*static_cast<SharedPtr*>(data)),
                                       [](gpointer d) { releaseShared(d); });
  g_signal_emit_by_name(shared.webrtc, "create-answer", nullptr, create);
}

GstPadProbeReturn onUpstreamEvent(GstPad*, GstPadProbeInfo* info, gpointer data) {
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (event && gst_video_event_is_force_key_unit(event)) {
    sharedOf(data).post(WhepSession::Event::Kind::KeyframeRequest);
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

gboolean onBusMessage(GstBus*, GstMessage* message, gpointer data) {
  // A bus watch attached to the control loop's context: this runs on the control thread.
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    auto& shared = sharedOf(data);
    log::warn("viewer pipeline error",
              {{"session", shared.id}, {"error", error ? error->message : "?"}});
    g_clear_error(&error);
    if (!shared.failed.exchange(true))
      shared.post(WhepSession::Event::Kind::Gone, "pipeline_error");
  }
  return G_SOURCE_CONTINUE;
}

GstElement* appsrcFor(const char* name) {
  GstElement* src = makeElement("appsrc", name);
  if (!src)
    return nullptr;
  g_object_set(src, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", FALSE, "max-bytes",
               static_cast<guint64>(2 << 20), nullptr);
  return src;
}

}  // namespace

void restrictIceAddresses(GstElement* webrtcbin, const std::vector<std::string>& addresses) {
  if (addresses.empty())
    return;
  GstWebRTCICE* ice = nullptr;
  g_object_get(webrtcbin, "ice-agent", &ice, nullptr);
  GObjectPtr<GstWebRTCICE> ice_owned(ice);
  NiceAgent* agent = nullptr;
  if (ice)
    g_object_get(ice, "agent", &agent, nullptr);
  GObjectPtr<NiceAgent> agent_owned(agent);
  if (!agent)
    return;
  for (const auto& text : addresses) {
    NiceAddress address;
    nice_address_init(&address);
    if (nice_address_set_from_string(&address, text.c_str()))
      nice_agent_add_local_address(agent, &address);
    else
      log::warn("not an IP address for ICE", {{"address", text}});
  }
}

const char* stateName(WhepSession::State state) {
  switch (state) {
    case WhepSession::State::Negotiating:
      return "negotiating";
    case WhepSession::State::Connecting:
      return "connecting";
    case WhepSession::State::Connected:
      return "connected";
    case WhepSession::State::Gone:
      return "gone";
  }
  return "?";
}

WhepSession::WhepSession(Loop& loop, std::string id, ProgrammeFeed& feed, Options options)
    : loop_(loop), id_(std::move(id)), feed_(feed), options_(std::move(options)) {}

Result<std::unique_ptr<WhepSession>> WhepSession::start(Loop& loop, std::string id,
                                                        ProgrammeFeed& feed,
                                                        const std::string& offer,
                                                        const Options& options, EventSink sink) {
  JOBCAST_ASSERT_LOOP_THREAD(loop);
  ensureGstreamer();
  std::string profile = "42e01f";
  if (CapsPtr caps = feed.videoCaps()) {
    const gchar* p = gst_structure_get_string(gst_caps_get_structure(caps.get(), 0), "profile");
    if (p && (g_str_equal(p, "main")))
      profile = "4d001f";
    else if (p && g_str_has_prefix(p, "high"))
      profile = "64001f";
  }
  auto parsed = ViewerOffer::parse(offer, profile);
  if (!parsed)
    return parsed.error();
  std::unique_ptr<WhepSession> session(new WhepSession(loop, std::move(id), feed, options));
  auto built = session->build(parsed.value(), offer, std::move(sink));
  if (!built)
    return built.error();
  return session;
}

Result<bool> WhepSession::build(const ViewerOffer& offer, const std::string& sdp, EventSink sink) {
  pipeline_ = adopt(gst_pipeline_new(("whep-" + id_).c_str()));
  // Share the programme's clock and base time: buffers arrive stamped in its
  // running time and keep their spacing across a switch of source.
  ClockPtr clock = feed_.clock();
  gst_pipeline_use_clock(GST_PIPELINE(pipeline_.get()), clock.get());
  gst_element_set_start_time(pipeline_.get(), GST_CLOCK_TIME_NONE);
  gst_element_set_base_time(pipeline_.get(), feed_.baseTime());

  webrtc_ = makeElement("webrtcbin", "webrtc");
  if (!webrtc_)
    return Error{"media_unavailable", "webrtcbin is not installed"};
  g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  if (!options_.stun_server.empty())
    g_object_set(webrtc_, "stun-server", options_.stun_server.c_str(), nullptr);
  restrictIceAddresses(webrtc_, options_.local_addresses);
  for (const auto& turn : options_.turn_servers) {
    gboolean added = FALSE;
    g_signal_emit_by_name(webrtc_, "add-turn-server", turn.c_str(), &added);
  }
  gst_bin_add(GST_BIN(pipeline_.get()), webrtc_);

  GstElement* video_src = nullptr;
  GstElement* audio_src = nullptr;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const auto& media = offer.media[i];
    bool video = media.kind == "video";
    if ((video && video_src) || (!video && audio_src))
      return Error{"unsupported_media", "one video and one audio m-line at most"};
    GstElement* src = appsrcFor(video ? "video" : "audio");
    GstElement* pay = makeElement(video ? "rtph264pay" : "rtpopuspay");
    if (!src || !pay)
      return Error{"media_unavailable", "payloader plugins are not installed"};
    g_object_set(pay, "pt", static_cast<guint>(media.payload), "mtu", 1200u, nullptr);
    if (video) {
      // No SPS/PPS of the payloader's own: the programme carries them ahead of
      // every keyframe already (h264parse config-interval=-1 upstream), and
      // rtph264pay's config-interval=-1 would put them in front of every
      // slice, which splits a multi-slice keyframe at the viewer's parser.
      g_object_set(pay, "config-interval", 0, nullptr);
      gst_util_set_object_arg(G_OBJECT(pay), "aggregate-mode", "zero-latency");
    }
    gst_bin_add_many(GST_BIN(pipeline_.get()), src, pay, nullptr);
    gst_element_link(src, pay);
    GstElement* last = pay;
    if (video) {
      // The payloader states the stream's profile-level-id (42c01e, say);
      // webrtcbin only accepts what the viewer offered. Both are the profile
      // the viewer chose to decode, so state the offered one.
      GstElement* setter = makeElement("capssetter");
      if (!setter)
        return Error{"media_unavailable", "capssetter is not installed"};
      CapsPtr offered(gst_caps_new_simple("application/x-rtp", "profile-level-id", G_TYPE_STRING,
                                          media.profile_level_id.c_str(), nullptr));
      g_object_set(setter, "caps", offered.get(), "join", FALSE, "replace", FALSE, nullptr);
      gst_bin_add(GST_BIN(pipeline_.get()), setter);
      gst_element_link(pay, setter);
      last = setter;
    }
    std::string pad_name = "sink_" + std::to_string(i);
    // webrtcbin keeps its request pad; this reference goes at the end of scope.
    PadPtr sink_pad(gst_element_request_pad_simple(webrtc_, pad_name.c_str()));
    if (!sink_pad)
      return Error{"media_failed", "webrtcbin refused a sink pad"};
    PadPtr pay_src(gst_element_get_static_pad(last, "src"));
    gst_pad_link(pay_src.get(), sink_pad.get());
    GstWebRTCRTPTransceiver* trans = nullptr;
    g_object_get(sink_pad.get(), "transceiver", &trans, nullptr);
    GObjectPtr<GstWebRTCRTPTransceiver> trans_owned(trans);
    if (!trans)
      return Error{"media_failed", "webrtcbin gave no transceiver"};
    // No profile-level-id here: the answer takes the offer's, while the
    // payloader's caps carry the stream's own (browsers set
    // level-asymmetry-allowed and decode the profiles they offered).
    CapsPtr prefs(video
                      ? gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "video",
                                            "encoding-name", G_TYPE_STRING, "H264", "clock-rate",
                                            G_TYPE_INT, 90000, "payload", G_TYPE_INT, media.payload,
                                            "packetization-mode", G_TYPE_STRING, "1", nullptr)
                      : gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio",
                                            "encoding-name", G_TYPE_STRING, "OPUS", "clock-rate",
                                            G_TYPE_INT, 48000, "payload", G_TYPE_INT, media.payload,
                                            nullptr));
    g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                 "codec-preferences", prefs.get(), nullptr);
    (video ? video_src : audio_src) = src;
  }
  // A viewer that offered only one kind still gets a sink for the other.
  if (!video_src) {
    video_src = appsrcFor("video");
    gst_bin_add(GST_BIN(pipeline_.get()), video_src);
    GstElement* fake = makeElement("fakesink");
    gst_bin_add(GST_BIN(pipeline_.get()), fake);
    gst_element_link(video_src, fake);
  }
  if (!audio_src) {
    audio_src = appsrcFor("audio");
    gst_bin_add(GST_BIN(pipeline_.get()), audio_src);
    GstElement* fake = makeElement("fakesink");
    gst_bin_add(GST_BIN(pipeline_.get()), fake);
    gst_element_link(audio_src, fake);
  }

  shared_ = std::make_shared<Shared>();
  shared_->loop = &loop_;
  shared_->id = id_;
  shared_->sink = std::move(sink);
  shared_->webrtc = webrtc_;

  auto connect = [&](gpointer instance, const char* signal, GCallback cb) {
    g_signal_connect_data(instance, signal, cb, holdShared(shared_), releaseShared,
                          static_cast<GConnectFlags>(0));
  };
  connect(webrtc_, "notify::ice-gathering-state", G_CALLBACK(onGatheringState));
  connect(webrtc_, "notify::ice-connection-state", G_CALLBACK(onIceState));
  connect(webrtc_, "notify::connection-state", G_CALLBACK(onConnectionState));
  if (ElementPtr rtpbin{gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin")})
    connect(rtpbin.get(), "on-bye-ssrc", G_CALLBACK(onByeSsrc));
  PadPtr video_out(gst_element_get_static_pad(video_src, "src"));
  gst_pad_add_probe(video_out.get(), GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, onUpstreamEvent,
                    holdShared(shared_), [](gpointer d) { releaseShared(d); });

  BusPtr bus(gst_element_get_bus(pipeline_.get()));
  bus_watch_ = gst_bus_create_watch(bus.get());
  g_source_set_callback(bus_watch_, G_SOURCE_FUNC(onBusMessage), holdShared(shared_),
                        [](gpointer d) { releaseShared(d); });
  loop_.attach(bus_watch_);

  viewer_ = feed_.addViewer(video_src, audio_src);

  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"media_failed", "the viewer pipeline did not start"};

  GstSDPMessage* message = nullptr;
  gst_sdp_message_new_from_text(sdp.c_str(), &message);
  GstWebRTCSessionDescription* remote =
      gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, message);
  GstPromise* promise = gst_promise_new_with_change_func(onOfferSet, holdShared(shared_),
                                                         [](gpointer d) { releaseShared(d); });
  g_signal_emit_by_name(webrtc_, "set-remote-description", remote, promise);
  gst_webrtc_session_description_free(remote);
  return true;
}

WhepSession::~WhepSession() {
  if (viewer_)
    feed_.removeViewer(viewer_);
  if (bus_watch_) {
    g_source_destroy(bus_watch_);
    g_source_unref(bus_watch_);
  }
  if (webrtc_ && shared_) {
    // Pending promise callbacks may still post; their events carry only the id.
    g_signal_handlers_disconnect_matched(webrtc_, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
                                         reinterpret_cast<gpointer>(onGatheringState), nullptr);
    g_signal_handlers_disconnect_matched(webrtc_, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
                                         reinterpret_cast<gpointer>(onIceState), nullptr);
    g_signal_handlers_disconnect_matched(webrtc_, G_SIGNAL_MATCH_FUNC, 0, 0, nullptr,
                                         reinterpret_cast<gpointer>(onConnectionState), nullptr);
  }
  if (pipeline_)
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  viewer_.reset();
  pipeline_.reset();
}

std::optional<std::string> WhepSession::answerNow() {
  if (!shared_ || shared_->answered)
    return std::nullopt;
  // Under load create-answer may not have finished yet: then keep waiting
  // for the gathering to complete (or the next try).
  auto sdp = shared_->localSdp();
  if (!sdp || shared_->answered.exchange(true))
    return std::nullopt;
  return sdp;
}

void WhepSession::onConnected() {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (state_ == State::Connected || state_ == State::Gone)
    return;
  state_ = State::Connected;
  connected_at_ = SteadyClock::now();
  feed_.activate(viewer_);
}

std::optional<std::string> WhepSession::checkHealth(SteadyClock::time_point now) {
  JOBCAST_ASSERT_LOOP_THREAD(loop_);
  if (state_ == State::Gone)
    return std::nullopt;
  if (state_ != State::Connected) {
    if (now - started_ > options_.connect_timeout)
      return "connect_timeout";
    return std::nullopt;
  }
  int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  int64_t last = shared_->last_rtcp_us;
  if (last && now_us - last > std::chrono::microseconds(options_.rtcp_timeout).count())
    return "rtcp_timeout";
  int64_t since = shared_->disconnected_since_us;
  if (since && now_us - since > std::chrono::microseconds(options_.disconnect_grace).count())
    return "ice_disconnected";
  return std::nullopt;
}

}  // namespace jobcast::media
