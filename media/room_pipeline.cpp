// Runs on the control thread except the static callbacks marked "streaming
// thread", which only copy data and post tasks keyed by session id.

#include "media/room_pipeline.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include <cstdlib>
#include <utility>

#include "core/log.h"
#include "media/programme_switch.h"
#include "media/recorder.h"
#include "media/teardown_worker.h"

namespace jobcast::media {
namespace {

int64_t monotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What a signal handler or promise callback gets: how to reach its session.
struct Ctx {
  RoomPipeline::Post post;
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
  ctx->post([error](RoomPipeline& p) { p.onRemoteDescriptionSet(error.empty(), error); });
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
  ctx->post([sdp, error](RoomPipeline& p) { p.onAnswerCreated(sdp, error); });
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
  ctx->post([shared, kind, probe](RoomPipeline& p) { p.onIncomingPad(shared, kind, probe); });
}

// Streaming thread (libnice / webrtcbin).
void onGatheringNotify(GObject* webrtc, GParamSpec*, gpointer data) {
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
  int value = static_cast<int>(state);
  static_cast<Ctx*>(data)->post([value](RoomPipeline& p) { p.onGatheringState(value); });
}

// Streaming thread.
void onConnectionNotify(GObject* webrtc, GParamSpec*, gpointer data) {
  GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  g_object_get(webrtc, "connection-state", &state, nullptr);
  int value = static_cast<int>(state);
  static_cast<Ctx*>(data)->post([value](RoomPipeline& p) { p.onConnectionState(value); });
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

// Streaming thread. The programme's timeline: buffers re-stamped to running
// time under one segment that starts at zero, so a switch of source (the
// publisher passed through, or the stage composite, each with segments and
// stamps of its own) never moves time backwards for the muxers downstream.
// Later SEGMENT and STREAM_START events are dropped. The same burst at DTLS
// start makes a publisher's stamps step backwards too. No B-frames from
// WebRTC publishers or our encoders: video DTS = PTS.
struct Timeline {
  bool video = false;
  bool started = false;
  bool segment_sent = false;
  GstSegment in;
  GstClockTime last = GST_CLOCK_TIME_NONE;
};

GstPadProbeReturn onTimeline(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* t = static_cast<Timeline*>(data);
  if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    switch (GST_EVENT_TYPE(event)) {
      case GST_EVENT_STREAM_START:
        if (t->started)
          return GST_PAD_PROBE_DROP;
        t->started = true;
        return GST_PAD_PROBE_OK;
      case GST_EVENT_SEGMENT: {
        const GstSegment* segment = nullptr;
        gst_event_parse_segment(event, &segment);
        if (segment->format != GST_FORMAT_TIME)
          return GST_PAD_PROBE_DROP;
        gst_segment_copy_into(segment, &t->in);
        if (t->segment_sent)
          return GST_PAD_PROBE_DROP;
        t->segment_sent = true;
        GstSegment out;
        gst_segment_init(&out, GST_FORMAT_TIME);
        gst_event_unref(event);
        GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_segment(&out);
        return GST_PAD_PROBE_OK;
      }
      default:
        return GST_PAD_PROBE_OK;
    }
  }
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!t->segment_sent)
    return GST_PAD_PROBE_DROP;
  GstClockTime pts = GST_BUFFER_PTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    pts = GST_BUFFER_DTS(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return GST_PAD_PROBE_DROP;
  pts = gst_segment_to_running_time(&t->in, GST_FORMAT_TIME, pts);
  if (!GST_CLOCK_TIME_IS_VALID(pts))
    return GST_PAD_PROBE_DROP;
  if (GST_CLOCK_TIME_IS_VALID(t->last) && pts <= t->last)
    pts = t->last + (t->video ? GST_MSECOND : GST_USECOND);
  t->last = pts;
  buffer = gst_buffer_make_writable(buffer);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DTS(buffer) = t->video ? pts : GST_CLOCK_TIME_NONE;
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  return GST_PAD_PROBE_OK;
}

void addTimelineProbe(GstPad* pad, bool video) {
  auto* t = new Timeline;
  t->video = video;
  gst_segment_init(&t->in, GST_FORMAT_TIME);
  gst_pad_add_probe(
      pad, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
      onTimeline, t, [](gpointer d) { delete static_cast<Timeline*>(d); });
}

}  // namespace

RoomPipeline::RoomPipeline(Loop& loop, TeardownWorker& worker, const MediaOptions& options,
                           Setup setup, Events events, Post post)
    : loop_(loop),
      worker_(worker),
      options_(options),
      setup_(std::move(setup)),
      events_(std::move(events)),
      post_(std::move(post)),
      last_video_ms_(std::make_shared<std::atomic<int64_t>>(0)),
      gop_(std::make_shared<PublisherGop>()) {}

RoomPipeline::~RoomPipeline() {
  keyframe_timer_.cancel();
  health_timer_.cancel();
  gather_timer_.cancel();
  stop_timer_.cancel();
  bus_watch_.reset();
  releaseAll();
  pipeline_.reset();
}

void RoomPipeline::releaseAll() {
  if (!pipeline_)
    return;
  // Stopped first, so the mixer's removal finds every pad idle.
  gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  ladder_.reset();
  switch_.reset();
}

Result<std::unique_ptr<RoomPipeline>> RoomPipeline::create(Loop& loop, TeardownWorker& worker,
                                                           const MediaOptions& options, Setup setup,
                                                           Events events, Post post) {
  JOBCAST_ASSERT_LOOP_THREAD(loop);
  std::unique_ptr<RoomPipeline> p(new RoomPipeline(loop, worker, options, std::move(setup),
                                                   std::move(events), std::move(post)));
  auto built = p->build();
  if (!built)
    return built.error();
  return p;
}

GstElement* RoomPipeline::add(const char* factory, const char* name) {
  GstElement* e = makeElement(factory, name);
  if (!e) {
    log::error("missing GStreamer element", {{"factory", factory}});
    return nullptr;
  }
  gst_bin_add(GST_BIN(pipeline_.get()), e);
  return e;
}

Result<bool> RoomPipeline::build() {
  std::string name = "room-" + setup_.room + "-" + setup_.session;
  pipeline_.reset(gst_pipeline_new(name.c_str()));
  gst_object_ref_sink(pipeline_.get());
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
      log::warn("TURN server refused", {{"room", setup_.room}});
  }
  g_signal_connect_data(webrtc_, "pad-added", G_CALLBACK(onPadAdded), new Ctx{post_},
                        freeCtxClosure, GConnectFlags(0));
  g_signal_connect_data(webrtc_, "notify::ice-gathering-state", G_CALLBACK(onGatheringNotify),
                        new Ctx{post_}, freeCtxClosure, GConnectFlags(0));
  g_signal_connect_data(webrtc_, "notify::connection-state", G_CALLBACK(onConnectionNotify),
                        new Ctx{post_}, freeCtxClosure, GConnectFlags(0));

  // Programme video: the publisher's H.264, never decoded on this path.
  GstElement* depay = add("rtph264depay");
  GstElement* parse = add("h264parse");
  GstElement* vcaps = add("capsfilter");
  video_tee_ = add("tee", "programme-video");
  if (!depay || !parse || !vcaps || !video_tee_)
    return missing("rtph264depay/h264parse/tee");
  g_object_set(depay, "request-keyframe", TRUE, "wait-for-keyframe", TRUE, nullptr);
  g_object_set(parse, "config-interval", -1, nullptr);
  CapsPtr h264(gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au"));
  g_object_set(vcaps, "caps", h264.get(), nullptr);
  g_object_set(video_tee_, "allow-not-linked", TRUE, nullptr);
  const bool guest = setup_.role == Role::Guest;
  if (!gst_element_link_many(depay, parse, vcaps, nullptr))
    return Error{"media_error", "cannot link the video input"};
  // Programme audio: Opus kept for WebRTC viewers, decoded once, AAC encoded once.
  GstElement* adepay = add("rtpopusdepay");
  GstElement* opus_tee = opus_tee_ = add("tee", "programme-opus");
  if (!adepay || !opus_tee)
    return missing("rtpopusdepay/tee");
  g_object_set(opus_tee, "allow-not-linked", TRUE, nullptr);
  if (guest) {
    if (!gst_element_link(vcaps, video_tee_) || !gst_element_link(adepay, opus_tee))
      return Error{"media_error", "cannot link the guest's input"};
  } else {
    // Passthrough or composite: the switch picks what the programme is.
    ProgrammeSwitch::Hooks hooks;
    hooks.ask_publisher_keyframe = [this] { requestKeyframe(); };
    hooks.switched = [this] {
      // The HLS renditions start a segment at the new source's keyframe
      // (MediaService marks the segment after the one in progress as a
      // discontinuity).
      if (ladder_)
        ladder_->splitNow();
    };
    hooks.interpreter = [this](GstElement* variant_tee) {
      if (!ladder_)
        return;
      if (variant_tee)
        ladder_->addInterpreter(variant_tee);
      else
        ladder_->dropInterpreter();
    };
    switch_ = std::make_unique<ProgrammeSwitch>(GST_BIN(pipeline_.get()), worker_, options_,
                                                setup_.room, std::move(hooks));
    auto built = switch_->build(vcaps, adepay, video_tee_, opus_tee);
    if (!built)
      return built;
  }
  video_in_ = depay;
  {
    // One timeline for the programme, whichever source the selector passes.
    GstPtr<GstPad> pad(gst_element_get_static_pad(video_tee_, "sink"));
    addTimelineProbe(pad.get(), true);
    // The publisher's own video (before any switch) tells whether they are
    // still there.
    if (switch_)
      pad.reset(gst_element_get_static_pad(switch_->publisherVideo(), "sink"));
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

  GstElement* aq = add("queue");
  GstElement* adec = add("opusdec");
  GstElement* aconv = add("audioconvert");
  GstElement* ares = add("audioresample");
  GstElement* acaps = add("capsfilter");
  GstElement* aenc = add("voaacenc");
  GstElement* aparse = add("aacparse");
  aac_tee_ = add("tee", "programme-aac");
  if (!aq || !adec || !aconv || !ares || !acaps || !aenc || !aparse || !aac_tee_) {
    return missing("rtpopusdepay/opusdec/voaacenc/aacparse");
  }
  g_object_set(aac_tee_, "allow-not-linked", TRUE, nullptr);
  CapsPtr raw(gst_caps_from_string("audio/x-raw,format=S16LE,rate=48000,channels=2"));
  g_object_set(acaps, "caps", raw.get(), nullptr);
  g_object_set(aenc, "bitrate", options_.audio_kbps * 1000, nullptr);
  if (!gst_element_link_many(opus_tee, aq, adec, aconv, ares, acaps, nullptr) ||
      (!guest && !gst_element_link_many(acaps, aenc, aparse, aac_tee_, nullptr))) {
    return Error{"media_error", "cannot link the audio input"};
  }
  audio_in_ = adepay;
  if (!guest) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(opus_tee, "sink"));
    addTimelineProbe(pad.get(), false);
  }
  {
    // Publishers send a burst of queued audio when DTLS comes up, and the jitter
    // buffer's arrival-time stamps then jump backwards, which splitmuxsink
    // rejects. Audio is continuous: stamp it by sample count from its first
    // buffer, moving forward only across real gaps. Streaming thread.
    struct Clock {
      GstClockTime base = GST_CLOCK_TIME_NONE;
      guint64 samples = 0;
    };
    GstPtr<GstPad> pad(gst_element_get_static_pad(acaps, "src"));
    gst_pad_add_probe(
        pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        +[](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          auto* clock = static_cast<Clock*>(data);
          GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
          guint64 n = gst_buffer_get_size(buffer) / 4;  // S16LE stereo
          GstClockTime pts = GST_BUFFER_PTS(buffer);
          GstClockTime next =
              GST_CLOCK_TIME_IS_VALID(clock->base)
                  ? clock->base + gst_util_uint64_scale(clock->samples, GST_SECOND, 48000)
                  : GST_CLOCK_TIME_NONE;
          if (!GST_CLOCK_TIME_IS_VALID(next) ||
              (GST_CLOCK_TIME_IS_VALID(pts) && pts > next + 200 * GST_MSECOND)) {
            if (!GST_CLOCK_TIME_IS_VALID(pts))
              return GST_PAD_PROBE_DROP;
            clock->base = pts;
            clock->samples = 0;
            next = pts;
          }
          buffer = gst_buffer_make_writable(buffer);
          GST_BUFFER_PTS(buffer) = next;
          GST_BUFFER_DTS(buffer) = GST_CLOCK_TIME_NONE;
          GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(n, GST_SECOND, 48000);
          clock->samples += n;
          GST_PAD_PROBE_INFO_DATA(info) = buffer;
          return GST_PAD_PROBE_OK;
        },
        new Clock, [](gpointer d) { delete static_cast<Clock*>(d); });
  }

  if (guest) {
    auto outputs = buildGuestOutputs(acaps);
    if (!outputs)
      return outputs;
  } else {
    ladder_ = std::make_unique<HlsLadder>(GST_BIN(pipeline_.get()), worker_, options_,
                                          [this](const std::string& rendition, double seconds,
                                                 std::shared_ptr<const std::string> bytes) {
                                            if (stopping() || !events_.segment)
                                              return;
                                            events_.segment(rendition, seconds, std::move(bytes),
                                                            ladder_->format(rendition));
                                          });
    auto ladder = ladder_->build(setup_.renditions, video_tee_, aac_tee_);
    if (!ladder)
      return ladder;
  }
  if (!guest && !setup_.recording_dir.empty()) {
    recorder_ = std::make_unique<Recorder>(GST_BIN(pipeline_.get()), options_, setup_.recording_dir,
                                           [this](const RecordingPiece& piece) {
                                             if (events_.recording_closed)
                                               events_.recording_closed(piece);
                                             if (stopping())
                                               finishStop();
                                           });
    auto rec = recorder_->build(video_tee_, aac_tee_);
    if (!rec)
      return rec;
  }

  GstPtr<GstBus> bus(gst_element_get_bus(pipeline_.get()));
  GSource* watch = gst_bus_create_watch(bus.get());
  g_source_set_callback(
      watch, G_SOURCE_FUNC(+[](GstBus*, GstMessage* message, gpointer self) -> gboolean {
        return static_cast<RoomPipeline*>(self)->onBusMessage(message) ? TRUE : FALSE;
      }),
      this, nullptr);
  loop_.attach(watch);
  bus_watch_.reset(watch);
  return true;
}

Result<bool> RoomPipeline::buildGuestOutputs(GstElement* audio_raw) {
  // A guest's picture and sound, decoded once, for the room pipeline's mixer.
  GstElement* vq = add("queue");
  GstElement* dec = add("avdec_h264");
  GstElement* conv = add("videoconvert");
  GstElement* vsink = add("intervideosink");
  GstElement* asink = add("interaudiosink");
  if (!vq || !dec || !conv || !vsink || !asink)
    return Error{"media_unavailable", "GStreamer element missing: avdec_h264/intervideosink"};
  g_object_set(vq, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
               static_cast<guint64>(GST_SECOND), nullptr);
  g_object_set(vsink, "channel", (setup_.stage_channel + "-v").c_str(), nullptr);
  g_object_set(asink, "channel", (setup_.stage_channel + "-a").c_str(), nullptr);
  if (!gst_element_link_many(video_tee_, vq, dec, conv, vsink, nullptr) ||
      !gst_element_link(audio_raw, asink)) {
    return Error{"media_error", "cannot link the guest's outputs"};
  }
  return true;
}

void RoomPipeline::negotiate(SdpPtr offer, std::vector<OfferedMedia> media) {
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
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
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

void RoomPipeline::onRemoteDescriptionSet(bool ok, std::string error) {
  if (stopping())
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

void RoomPipeline::onAnswerCreated(std::string sdp, std::string error) {
  if (stopping())
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

void RoomPipeline::onGatheringState(int state) {
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

void RoomPipeline::finishAnswer() {
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

void RoomPipeline::onIncomingPad(std::shared_ptr<GstPad> pad, std::string kind, gulong probe) {
  if (stopping() || !pipeline_) {
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
               {{"room", setup_.room}, {"session", setup_.session}, {"kind", kind}});
  }
  log::info("publisher stream linked", {{"room", setup_.room},
                                        {"session", setup_.session},
                                        {"kind", kind},
                                        {"ssrc", kind == "video" ? video_ssrc_ : 0}});
  gst_pad_remove_probe(pad.get(), probe);
}

void RoomPipeline::askKeyframe() {
  if (switch_)
    switch_->askKeyframe();
  else
    requestKeyframe();
}

bool RoomPipeline::lowerRtcpInterval() {
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

void RoomPipeline::requestKeyframe() {
  // webrtcbin drops the GstForceKeyUnit events hlssink2 sends upstream before
  // they reach its RTP session, so send one straight to the session's receive
  // pad, naming the publisher's video SSRC and payload type; rtpsession turns
  // it into RTCP PLI. It needs both fields: without "payload" it cannot look up
  // the feedback the publisher accepts and passes the event on unanswered.
  if (!webrtc_ || video_ssrc_ == 0 || video_payload_ == 0 || stopping())
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

void RoomPipeline::onConnectionState(int state) {
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
    lose("connection_failed");
  else if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
    lose("connection_closed");
}

void RoomPipeline::checkMedia() {
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

void RoomPipeline::lose(const std::string& reason) {
  if (state_ == State::Lost || stopping())
    return;
  state_ = State::Lost;
  log::info("publisher lost",
            {{"room", setup_.room}, {"session", setup_.session}, {"reason", reason}});
  if (events_.gone)
    events_.gone(reason);
}

bool RoomPipeline::onBusMessage(GstMessage* message) {
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &error, &debug);
      std::string text = error ? error->message : "error";
      log::error("media pipeline error", {{"room", setup_.room},
                                          {"session", setup_.session},
                                          {"element", GST_OBJECT_NAME(GST_MESSAGE_SRC(message))},
                                          {"error", text},
                                          {"debug", debug ? debug : ""}});
      if (error)
        g_error_free(error);
      g_free(debug);
      if (state_ == State::Negotiating) {
        state_ = State::Answered;
        events_.answer(Error{"media_error", "media pipeline failed: " + text});
      }
      lose("pipeline_error");
      break;
    }
    case GST_MESSAGE_ELEMENT:
      if (ladder_ && ladder_->onFragmentMessage(message))
        break;
      if (recorder_)
        recorder_->onFragmentMessage(message);
      break;
    default:
      break;
  }
  return true;
}

// The stage (control thread). Elements are added to the running pipeline and
// synced to its state; removal unlinks at an idle moment of the upstream pad.

void RoomPipeline::setStage(const std::string& main_caption,
                            const std::vector<StageInput>& inputs) {
  if (switch_ && !stopping() && pipeline_)
    switch_->setStage(main_caption, inputs);
}

GstPad* RoomPipeline::interpreterVideo() const {
  return switch_ ? switch_->interpreterVideo() : nullptr;
}

void RoomPipeline::stop(std::function<void()> done) {
  if (done)
    stop_waiters_.push_back(std::move(done));
  if (stopping())
    return;
  state_ = State::Stopping;
  if (ladder_)
    ladder_->stop();
  health_timer_.cancel();
  gather_timer_.cancel();
  keyframe_timer_.cancel();
  if (recorder_ && recorder_->finish()) {
    // The recorder closes its piece (the MP4's moov) before the pipeline
    // goes, with a watchdog in case it never reports the piece closed.
    stop_timer_.start(loop_, std::chrono::milliseconds(4000), [this] {
      log::warn("recording did not finish in time", {{"room", setup_.room}});
      finishStop();
      return false;
    });
    return;
  }
  post_([](RoomPipeline& p) { p.finishStop(); });
}

void RoomPipeline::finishStop() {
  if (!pipeline_ || state_ >= State::GoingNull)
    return;
  state_ = State::GoingNull;
  stop_timer_.cancel();
  bus_watch_.reset();
  // The state change to NULL joins every streaming thread; one that waits on
  // something (a serialized event, a keyframe) would hold the node's control
  // thread for as long. It runs on the teardown worker instead (after any
  // mixer of this pipeline dropped before), and the rest of the teardown
  // comes back to the control thread when it is done.
  worker_.run([pipeline = sharedRef(pipeline_.get()), post = post_] {
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    post([](RoomPipeline& p) { p.afterNull(); });
  });
}

void RoomPipeline::afterNull() {
  releaseAll();  // the pipeline is in NULL already: only references go
  pipeline_.reset();
  state_ = State::Stopped;
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& w : waiters)
    w();  // may destroy this object: nothing after
}

}  // namespace jobcast::media
