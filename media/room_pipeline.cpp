// Runs on the control thread except the static callbacks marked "streaming
// thread", which only copy data and post tasks keyed by session id.

#include "media/room_pipeline.h"

#include <gst/rtp/gstrtpbuffer.h>
#include <gst/video/video.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/log.h"
#include "media/h264_access_unit.h"
#include "media/stage_mixer.h"

namespace jobcast::media {
namespace {

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// Makes a stage source push into nothing before it is taken away: its
// buffers, events and queries are dropped at its own pad, so it never sees
// its peer go (a source that does posts "not-linked" and fails the pipeline)
// and never waits on the mixer while the mixer is being dismantled.
void silence(const std::vector<GstElement*>& sources) {
  for (GstElement* source : sources) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(source, "src"));
    if (!pad)
      continue;
    gst_pad_add_probe(
        pad.get(),
        GstPadProbeType(GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM | GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM),
        [](GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr, nullptr);
  }
}

VideoFormat formatOf(GstPad* pad) {
  VideoFormat f;
  if (!pad)
    return f;
  CapsPtr caps(gst_pad_get_current_caps(pad));
  if (!caps || gst_caps_get_size(caps.get()) == 0)
    return f;
  const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
  gst_structure_get_int(s, "width", &f.width);
  gst_structure_get_int(s, "height", &f.height);
  const char* profile = gst_structure_get_string(s, "profile");
  const char* level = gst_structure_get_string(s, "level");
  if (profile)
    f.codec = avcCodecString(profile, level ? level : "");
  return f;
}

std::string readAndRemove(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return ss.str();
}

bool linkToRequestPad(GstElement* from, GstElement* to, const char* pad_name,
                      std::vector<GstPtr<GstPad>>* keep = nullptr) {
  GstPtr<GstPad> sink(gst_element_request_pad_simple(to, pad_name));
  GstPtr<GstPad> src(gst_element_get_static_pad(from, "src"));
  if (!sink || !src || gst_pad_link(src.get(), sink.get()) != GST_PAD_LINK_OK)
    return false;
  if (keep)
    keep->push_back(std::move(sink));
  return true;
}

}  // namespace

RoomPipeline::RoomPipeline(Loop& loop, const MediaOptions& options, Setup setup, Events events,
                           Post post)
    : loop_(loop),
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
  if (interpreter_hls_) {
    gst_object_unref(interpreter_hls_->video_tee_pad);
    gst_object_unref(interpreter_hls_->audio_tee_pad);
    interpreter_hls_.reset();
  }
  mixer_.reset();
  for (GstPad** pad : {&select_pass_video_, &select_pass_audio_, &select_mix_video_,
                       &select_mix_audio_, &mix_video_src_, &mix_audio_src_, &main_video_tee_pad_,
                       &main_audio_tee_pad_, &spare_aac_pad_}) {
    if (*pad)
      gst_object_unref(*pad);
    *pad = nullptr;
  }
}

Result<std::unique_ptr<RoomPipeline>> RoomPipeline::create(Loop& loop, const MediaOptions& options,
                                                           Setup setup, Events events, Post post) {
  JOBCAST_ASSERT_LOOP_THREAD(loop);
  std::unique_ptr<RoomPipeline> p(
      new RoomPipeline(loop, options, std::move(setup), std::move(events), std::move(post)));
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
  if (guest) {
    if (!gst_element_link_many(depay, parse, vcaps, video_tee_, nullptr))
      return Error{"media_error", "cannot link the video input"};
  } else {
    // Passthrough or composite: the selector picks what the programme is.
    publisher_video_ = add("tee", "publisher-video");
    video_select_ = add("input-selector", "programme-video-select");
    if (!publisher_video_ || !video_select_)
      return missing("input-selector");
    g_object_set(publisher_video_, "allow-not-linked", TRUE, nullptr);
    g_object_set(video_select_, "sync-streams", FALSE, "cache-buffers", FALSE, nullptr);
    select_pass_video_ = gst_element_request_pad_simple(video_select_, "sink_%u");
    GstPtr<GstPad> tee_src(gst_element_request_pad_simple(publisher_video_, "src_%u"));
    if (!gst_element_link_many(depay, parse, vcaps, publisher_video_, nullptr) ||
        gst_pad_link(tee_src.get(), select_pass_video_) != GST_PAD_LINK_OK ||
        !gst_element_link(video_select_, video_tee_)) {
      return Error{"media_error", "cannot link the video input"};
    }
    g_object_set(video_select_, "active-pad", select_pass_video_, nullptr);
  }
  video_in_ = depay;
  {
    // Keyframes whose slices each carry SPS/PPS stay one access unit.
    GstPtr<GstPad> parse_in(gst_element_get_static_pad(parse, "sink"));
    h264::keepPicturesWhole(parse_in.get());
  }
  {
    // One timeline for the programme, whichever source the selector passes.
    GstPtr<GstPad> pad(gst_element_get_static_pad(video_tee_, "sink"));
    addTimelineProbe(pad.get(), true);
    // The publisher's own video tells whether they are still there.
    if (publisher_video_)
      pad.reset(gst_element_get_static_pad(publisher_video_, "sink"));
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

  // Programme audio: Opus kept for WebRTC viewers, decoded once, AAC encoded once.
  GstElement* adepay = add("rtpopusdepay");
  GstElement* opus_tee = add("tee", "programme-opus");
  if (!guest) {
    publisher_opus_ = add("tee", "publisher-opus");
    audio_select_ = add("input-selector", "programme-audio-select");
    if (!publisher_opus_ || !audio_select_)
      return missing("input-selector");
    g_object_set(publisher_opus_, "allow-not-linked", TRUE, nullptr);
    g_object_set(audio_select_, "sync-streams", FALSE, "cache-buffers", FALSE, nullptr);
    select_pass_audio_ = gst_element_request_pad_simple(audio_select_, "sink_%u");
    GstPtr<GstPad> tee_src(gst_element_request_pad_simple(publisher_opus_, "src_%u"));
    if (!gst_element_link(adepay, publisher_opus_) ||
        gst_pad_link(tee_src.get(), select_pass_audio_) != GST_PAD_LINK_OK ||
        !gst_element_link(audio_select_, opus_tee)) {
      return Error{"media_error", "cannot link the audio input"};
    }
    g_object_set(audio_select_, "active-pad", select_pass_audio_, nullptr);
  }
  GstElement* aq = add("queue");
  GstElement* adec = add("opusdec");
  GstElement* aconv = add("audioconvert");
  GstElement* ares = add("audioresample");
  GstElement* acaps = add("capsfilter");
  GstElement* aenc = add("voaacenc");
  GstElement* aparse = add("aacparse");
  aac_tee_ = add("tee", "programme-aac");
  if (!adepay || !opus_tee || !aq || !adec || !aconv || !ares || !acaps || !aenc || !aparse ||
      !aac_tee_) {
    return missing("rtpopusdepay/opusdec/voaacenc/aacparse");
  }
  g_object_set(opus_tee, "allow-not-linked", TRUE, nullptr);
  g_object_set(aac_tee_, "allow-not-linked", TRUE, nullptr);
  CapsPtr raw(gst_caps_from_string("audio/x-raw,format=S16LE,rate=48000,channels=2"));
  g_object_set(acaps, "caps", raw.get(), nullptr);
  g_object_set(aenc, "bitrate", options_.audio_kbps * 1000, nullptr);
  if ((guest && !gst_element_link(adepay, opus_tee)) ||
      !gst_element_link_many(opus_tee, aq, adec, aconv, ares, acaps, nullptr) ||
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
    auto ladder = buildLadder();
    if (!ladder)
      return ladder;
  }
  if (!guest && !setup_.recording_dir.empty()) {
    auto rec = buildRecording();
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

Result<bool> RoomPipeline::buildLadder() {
  auto queue = [this](guint64 max_ns) {
    GstElement* q = add("queue");
    if (q) {
      g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", max_ns,
                   nullptr);
    }
    return q;
  };
  const guint64 second = GST_SECOND;
  for (const auto& rendition : setup_.renditions) {
    GstElement* sink = hlsSink(rendition);
    if (!sink)
      return Error{"media_unavailable", "GStreamer element missing: hlssink2"};
    if (rendition == "source") {
      GstElement* q = queue(3 * second);
      if (!q || !gst_element_link(video_tee_, q) || !linkToRequestPad(q, sink, "video"))
        return Error{"media_error", "cannot link the source rendition"};
    } else if (rendition == "360p") {
      GstElement* q = queue(2 * second);
      GstElement* dec = add("avdec_h264");
      // Decoded pictures wait here for the encoder. When it falls behind (a
      // busy node) old pictures are dropped, never H.264 before the decoder,
      // and the programme tee is never held back: a blocked tee would stall
      // the publisher's own stream, HLS and WHEP with it.
      GstElement* raw_queue = add("queue");
      GstElement* scale = add("videoscale");
      GstElement* conv = add("videoconvert");
      GstElement* raw = add("capsfilter");
      GstElement* enc = add("x264enc");
      GstElement* out = add("capsfilter");
      low_parse_ = add("h264parse");
      if (!q || !dec || !raw_queue || !scale || !conv || !raw || !enc || !out || !low_parse_)
        return Error{"media_unavailable", "GStreamer element missing: avdec_h264/x264enc"};
      g_object_set(raw_queue, "max-size-buffers", 3u, "max-size-bytes", 0u, "max-size-time",
                   guint64{0}, nullptr);
      gst_util_set_object_arg(G_OBJECT(raw_queue), "leaky", "downstream");
      // Pinned caps: unpinned x264enc picks 4:4:4 high profile (DESIGN.md §10).
      std::string raw_caps = "video/x-raw,format=I420,width=" + std::to_string(options_.low_width) +
                             ",height=" + std::to_string(options_.low_height) +
                             ",pixel-aspect-ratio=1/1";
      CapsPtr rc(gst_caps_from_string(raw_caps.c_str()));
      g_object_set(raw, "caps", rc.get(), nullptr);
      CapsPtr oc(gst_caps_from_string(
          "video/x-h264,profile=constrained-baseline,stream-format=byte-stream,alignment=au"));
      g_object_set(out, "caps", oc.get(), nullptr);
      // Keyframes come from hlssink2's requests at each segment boundary; the
      // encoder's own interval is only a backstop, far enough not to cut a
      // segment short.
      gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
      gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
      g_object_set(enc, "bitrate", static_cast<guint>(options_.low_video_kbps), "key-int-max",
                   static_cast<guint>(120 * options_.segment_seconds), "vbv-buf-capacity", 1000u,
                   "option-string", "scenecut=0", nullptr);
      {
        // h264parse echoes the source rendition's keyframe requests downstream;
        // they must not reach this encoder, whose keyframes follow its own
        // segments. Streaming thread.
        GstPtr<GstPad> pad(gst_element_get_static_pad(q, "sink"));
        gst_pad_add_probe(
            pad.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
            +[](GstPad*, GstPadProbeInfo* info, gpointer) {
              return gst_video_event_is_force_key_unit(GST_PAD_PROBE_INFO_EVENT(info))
                         ? GST_PAD_PROBE_DROP
                         : GST_PAD_PROBE_OK;
            },
            nullptr, nullptr);
      }
      if (!gst_element_link(video_tee_, q) ||
          !gst_element_link_many(q, dec, raw_queue, scale, conv, raw, enc, out, low_parse_,
                                 nullptr) ||
          !linkToRequestPad(low_parse_, sink, "video")) {
        return Error{"media_error", "cannot link the 360p rendition"};
      }
    } else if (rendition != "audio") {
      return Error{"bad_config", "unknown rendition " + rendition};
    }
    GstElement* aq = queue(3 * second);
    if (!aq || !gst_element_link(aac_tee_, aq) || !linkToRequestPad(aq, sink, "audio"))
      return Error{"media_error", "cannot link audio into " + rendition};
  }
  return true;
}

GstElement* RoomPipeline::hlsSink(const std::string& rendition) {
  std::string dir = setup_.hls_dir + "/" + rendition;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  GstElement* sink = add("hlssink2", ("hls-" + rendition).c_str());
  if (!sink)
    return nullptr;
  g_object_set(sink, "location", (dir + "/%05d.ts").c_str(), "playlist-location",
               (dir + "/playlist.m3u8").c_str(), "target-duration",
               static_cast<guint>(options_.segment_seconds), "max-files", 0u, "playlist-length", 3u,
               "send-keyframe-requests", TRUE, nullptr);
  hls_sinks_[rendition] = sink;
  fragments_.erase("hls-" + rendition);
  return sink;
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

Result<bool> RoomPipeline::buildRecording() {
  std::error_code ec;
  std::filesystem::create_directories(setup_.recording_dir, ec);
  if (ec)
    return Error{"media_error", "cannot create " + setup_.recording_dir};
  recorder_ = add("splitmuxsink", "recording");
  GstElement* vq = add("queue");
  GstElement* aq = add("queue");
  GstElement* avc = add("h264parse");  // MP4 stores AVC, not byte-stream
  if (!recorder_ || !vq || !aq || !avc)
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
  // Pieces are named after the session's start so they sort in time order.
  std::string location = setup_.recording_dir + "/" + std::to_string(wallMs()) + "-%03d.mp4";
  g_object_set(recorder_, "location", location.c_str(), "max-size-time",
               static_cast<guint64>(options_.recording_piece_seconds) * GST_SECOND, "muxer-factory",
               "mp4mux", "send-keyframe-requests", TRUE, nullptr);
  if (!gst_element_link(video_tee_, vq) || !gst_element_link(vq, avc) ||
      !linkToRequestPad(avc, recorder_, "video", &recorder_pads_) ||
      !gst_element_link(aac_tee_, aq) ||
      !linkToRequestPad(aq, recorder_, "audio_%u", &recorder_pads_)) {
    return Error{"media_error", "cannot link the recording"};
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
  if (stopping_)
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
  if (stopping_)
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
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && !answered_ && !stopping_) {
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
  if (answered_ || stopping_)
    return;
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_, "local-description", &local, nullptr);
  DescriptionPtr owned(local);
  if (!local) {
    events_.answer(Error{"media_error", "no local description"});
    return;
  }
  answered_ = true;
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
  if (stopping_ || !pipeline_) {
    gst_pad_remove_probe(pad.get(), probe);
    return;
  }
  GstElement* target = nullptr;
  if (kind == "video" && !linked_video_) {
    target = video_in_;
    linked_video_ = true;
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
  } else if (kind == "audio" && !linked_audio_) {
    target = audio_in_;
    linked_audio_ = true;
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

GstElement* RoomPipeline::programmeTee(const char* name) const {
  GstElement* tee = gst_bin_get_by_name(GST_BIN(pipeline_.get()), name);
  if (tee)
    gst_object_unref(tee);  // the pipeline keeps it
  return tee;
}

void RoomPipeline::askKeyframe() {
  if (composite_ && select_mix_video_) {
    // Upstream through the mixer's tee and parser to its encoder.
    gst_pad_push_event(select_mix_video_,
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    return;
  }
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
  if (!webrtc_ || video_ssrc_ == 0 || video_payload_ == 0 || stopping_)
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
  if (lost_ || stopping_)
    return;
  int64_t last = last_video_ms_->load(std::memory_order_relaxed);
  int64_t now = monotonicMs();
  if (last > 0) {
    if (!media_started_) {
      media_started_ = true;
      if (events_.flowing)
        events_.flowing();
      if (lost_ || stopping_)
        return;
    }
    if (now - last > options_.media_timeout_ms)
      lose("media_timeout");
  } else if (std::chrono::steady_clock::now() - created_ >
             std::chrono::milliseconds(options_.connect_timeout_ms)) {
    lose("no_media");
  }
}

void RoomPipeline::lose(const std::string& reason) {
  if (lost_ || stopping_)
    return;
  lost_ = true;
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
      if (!answered_ && !stopping_) {
        answered_ = true;
        events_.answer(Error{"media_error", "media pipeline failed: " + text});
      }
      lose("pipeline_error");
      break;
    }
    case GST_MESSAGE_ELEMENT: {
      const GstStructure* s = gst_message_get_structure(message);
      if (!s)
        break;
      bool opened = gst_structure_has_name(s, "splitmuxsink-fragment-opened");
      bool closed = gst_structure_has_name(s, "splitmuxsink-fragment-closed");
      if (!opened && !closed)
        break;
      GstObject* src = GST_MESSAGE_SRC(message);
      std::string owner = GST_OBJECT_NAME(src);
      GstPtr<GstObject> parent(gst_object_get_parent(src));
      if (parent && std::string(GST_OBJECT_NAME(parent.get())).rfind("hls-", 0) == 0)
        owner = GST_OBJECT_NAME(parent.get());
      onFragment(s, owner, opened);
      break;
    }
    default:
      break;
  }
  return true;
}

void RoomPipeline::onFragment(const GstStructure* s, const std::string& owner, bool opened) {
  FragmentState& f = fragments_[owner];
  log::debug("fragment", {{"owner", owner}, {"opened", opened}});
  GstClockTime running = GST_CLOCK_TIME_NONE;
  gst_structure_get_clock_time(s, "running-time", &running);
  if (opened) {
    f.opened = running;
    f.opened_ms = wallMs();
    const char* location = gst_structure_get_string(s, "location");
    f.location = location ? location : "";
    if (owner == "recording")
      recording_open_ = true;
    return;
  }
  if (owner == "recording") {
    recording_open_ = false;
    const char* location = gst_structure_get_string(s, "location");
    RecordingPiece piece{location ? location : f.location, f.opened_ms, wallMs()};
    if (events_.recording_closed)
      events_.recording_closed(piece);
    if (stopping_)
      finishStop();
    return;
  }
  if (owner.rfind("hls-", 0) != 0)
    return;
  std::string rendition = owner.substr(4);
  char name[32];
  std::snprintf(name, sizeof name, "/%05llu.ts", static_cast<unsigned long long>(f.index++));
  auto bytes =
      std::make_shared<const std::string>(readAndRemove(setup_.hls_dir + "/" + rendition + name));
  double seconds = 0;
  if (GST_CLOCK_TIME_IS_VALID(running) && GST_CLOCK_TIME_IS_VALID(f.opened) && running > f.opened)
    seconds = static_cast<double>(running - f.opened) / GST_SECOND;
  VideoFormat format;
  if (rendition == "source") {
    GstPtr<GstPad> pad(gst_element_get_static_pad(video_tee_, "sink"));
    format = formatOf(pad.get());
  } else if (rendition == "360p" && low_parse_) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(low_parse_, "src"));
    format = formatOf(pad.get());
  }
  if (bytes->empty() || stopping_)
    return;
  if (events_.segment)
    events_.segment(rendition, seconds, bytes, format);
}

// The stage (control thread). Elements are added to the running pipeline and
// synced to its state; removal unlinks at an idle moment of the upstream pad.

bool RoomPipeline::ensureMixer(const std::string& main_caption) {
  if (mixer_)
    return true;
  StageMixer::Options mix;
  mix.width = options_.stage_width;
  mix.height = options_.stage_height;
  mix.fps = options_.stage_fps;
  mix.video_kbps = options_.stage_video_kbps;
  mix.key_interval_frames = options_.stage_fps * 2;
  mixer_ = std::make_unique<StageMixer>(GST_BIN(pipeline_.get()), mix);

  // The main publisher, decoded once for the mixer.
  GstElement* vq = add("queue");
  GstElement* vdec = add("avdec_h264");
  GstElement* aq = add("queue");
  GstElement* adec = add("opusdec");
  if (!vq || !vdec || !aq || !adec) {
    log::error("stage: decoder elements missing", {{"room", setup_.room}});
    return false;
  }
  for (GstElement* q : {vq, aq}) {
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 static_cast<guint64>(GST_SECOND), nullptr);
    gst_util_set_object_arg(G_OBJECT(q), "leaky", "downstream");
  }
  main_decode_ = {vq, vdec, aq, adec};
  gst_element_link(vq, vdec);
  gst_element_link(aq, adec);
  for (GstElement* e : main_decode_)
    gst_element_sync_state_with_parent(e);
  if (!main_video_tee_pad_)
    main_video_tee_pad_ = gst_element_request_pad_simple(publisher_video_, "src_%u");
  if (!main_audio_tee_pad_)
    main_audio_tee_pad_ = gst_element_request_pad_simple(publisher_opus_, "src_%u");
  GstPtr<GstPad> vq_sink(gst_element_get_static_pad(vq, "sink"));
  GstPtr<GstPad> aq_sink(gst_element_get_static_pad(aq, "sink"));
  gst_pad_link(main_video_tee_pad_, vq_sink.get());
  gst_pad_link(main_audio_tee_pad_, aq_sink.get());
  GstPtr<GstPad> vraw(gst_element_get_static_pad(vdec, "src"));
  GstPtr<GstPad> araw(gst_element_get_static_pad(adec, "src"));
  auto added =
      mixer_->addInput("main", StageMixer::Slot::Main, main_caption, vraw.get(), araw.get());
  if (!added) {
    log::error("stage: cannot mix the main publisher",
               {{"room", setup_.room}, {"error", added.error().message}});
  }
  // The composite's encoded output, ready on the selectors' second inputs.
  mix_video_src_ = gst_element_request_pad_simple(mixer_->videoTee(), "src_%u");
  mix_audio_src_ = gst_element_request_pad_simple(mixer_->audioTee(), "src_%u");
  if (!select_mix_video_)
    select_mix_video_ = gst_element_request_pad_simple(video_select_, "sink_%u");
  if (!select_mix_audio_)
    select_mix_audio_ = gst_element_request_pad_simple(audio_select_, "sink_%u");
  gst_pad_link(mix_video_src_, select_mix_video_);
  gst_pad_link(mix_audio_src_, select_mix_audio_);
  requestKeyframe();  // the decoder starts at the publisher's next keyframe
  log::info("stage mixer started", {{"room", setup_.room}});
  return true;
}

void RoomPipeline::select(bool composite) {
  if (composite == composite_ || !video_select_)
    return;
  composite_ = composite;
  g_object_set(video_select_, "active-pad", composite ? select_mix_video_ : select_pass_video_,
               nullptr);
  g_object_set(audio_select_, "active-pad", composite ? select_mix_audio_ : select_pass_audio_,
               nullptr);
  // Everything downstream restarts at a keyframe of the new source, and the
  // HLS renditions start a segment there (MediaService marks the segment
  // after the one in progress as a discontinuity).
  askKeyframe();
  for (const auto& [rendition, sink] : hls_sinks_) {
    if (rendition == "audio")
      continue;
    GstIterator* it = gst_bin_iterate_elements(GST_BIN(sink));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
      auto* child = GST_ELEMENT(g_value_get_object(&item));
      GstElementFactory* factory = gst_element_get_factory(child);
      if (factory && std::string(GST_OBJECT_NAME(factory)) == "splitmuxsink")
        g_signal_emit_by_name(child, "split-now");
      g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
  }
  log::info("programme",
            {{"room", setup_.room}, {"layout", composite ? "composite" : "passthrough"}});
}

void RoomPipeline::dropMixer() {
  if (!mixer_)
    return;
  select(false);
  dropInterpreterRendition();
  // Unlinked, never released: releasing a selector or tee pad waits for any
  // thread pushing through it, and one may be held up downstream for a
  // while. The idle pads stay for the next composite (allow-not-linked).
  for (GstPad* pad : {mix_video_src_, mix_audio_src_, main_video_tee_pad_, main_audio_tee_pad_}) {
    GstPtr<GstPad> peer(gst_pad_get_peer(pad));
    if (peer)
      gst_pad_unlink(pad, peer.get());
  }
  for (GstPad** pad : {&mix_video_src_, &mix_audio_src_}) {
    gst_object_unref(*pad);  // the mixer's tee goes with the mixer
    *pad = nullptr;
  }
  for (auto& [id, source] : stage_sources_)
    silence(source.elements);
  // The mixer is taken down on a thread of its own. One of its streaming
  // threads may be inside a push into the programme (unlinking does not
  // interrupt a push in progress), held there while a muxer waits for the
  // publisher's next keyframe; that keyframe is asked for from this thread.
  // Stopping the mixer here would wait for that push, and the push for this
  // thread: the node stopped answering.
  struct Doomed {
    std::unique_ptr<StageMixer> mixer;
    std::vector<GstElement*> elements;  // decoders and sources, in order
    GstPtr<GstElement> pipeline;        // keeps the bin alive meanwhile
    std::string room;
  };
  auto doomed = std::make_shared<Doomed>();
  doomed->mixer = std::move(mixer_);
  doomed->elements = std::move(main_decode_);
  main_decode_.clear();
  for (auto& [id, source] : stage_sources_) {
    for (GstElement* e : source.elements)
      doomed->elements.push_back(e);
  }
  stage_sources_.clear();
  doomed->pipeline.reset(GST_ELEMENT(gst_object_ref(pipeline_.get())));
  doomed->room = setup_.room;
  std::thread([doomed] {
    doomed->mixer.reset();  // removes its inputs and elements
    auto& elements = doomed->elements;
    for (auto it = elements.rbegin(); it != elements.rend(); ++it)
      gst_element_set_state(*it, GST_STATE_NULL);
    for (GstElement* e : elements)
      gst_bin_remove(GST_BIN(doomed->pipeline.get()), e);
    log::info("stage mixer stopped", {{"room", doomed->room}});
  }).detach();
}

void RoomPipeline::setStage(const std::string& main_caption,
                            const std::vector<StageInput>& inputs) {
  if (setup_.role != Role::Publisher || stopping_ || !pipeline_)
    return;
  if (inputs.empty()) {
    dropMixer();
    return;
  }
  if (!ensureMixer(main_caption))
    return;
  mixer_->setCaption("main", main_caption);
  auto wanted = [&](const std::string& id) {
    for (const auto& i : inputs) {
      if (i.id == id)
        return &i;
    }
    return static_cast<const StageInput*>(nullptr);
  };
  // Leavers first (and a changed channel is a leave and a join).
  for (auto it = stage_sources_.begin(); it != stage_sources_.end();) {
    const StageInput* w = wanted(it->first);
    if (w && w->channel == it->second.input.channel &&
        w->interpreter == it->second.input.interpreter) {
      if (w->caption != it->second.input.caption) {
        mixer_->setCaption(it->first, w->caption);
        it->second.input.caption = w->caption;
      }
      ++it;
      continue;
    }
    if (it->second.input.interpreter)
      dropInterpreterRendition();
    silence(it->second.elements);
    mixer_->removeInput(it->first);
    for (GstElement* e : it->second.elements)
      gst_element_set_state(e, GST_STATE_NULL);
    for (GstElement* e : it->second.elements)
      gst_bin_remove(GST_BIN(pipeline_.get()), e);
    it = stage_sources_.erase(it);
  }
  for (const auto& input : inputs) {
    if (stage_sources_.count(input.id))
      continue;
    StageSource source{input, {}};
    GstElement* vsrc = add("intervideosrc");
    GstElement* asrc = input.interpreter ? nullptr : add("interaudiosrc");
    if (!vsrc || (!input.interpreter && !asrc))
      continue;
    g_object_set(vsrc, "channel", (input.channel + "-v").c_str(), nullptr);
    source.elements.push_back(vsrc);
    if (asrc) {
      g_object_set(asrc, "channel", (input.channel + "-a").c_str(), nullptr);
      source.elements.push_back(asrc);
    }
    GstPtr<GstPad> vpad(gst_element_get_static_pad(vsrc, "src"));
    GstPtr<GstPad> apad(asrc ? gst_element_get_static_pad(asrc, "src") : nullptr);
    auto added = mixer_->addInput(
        input.id, input.interpreter ? StageMixer::Slot::Interpreter : StageMixer::Slot::Guest,
        input.caption, vpad.get(), apad.get());
    if (!added) {
      log::warn("stage: participant not mixed",
                {{"room", setup_.room}, {"id", input.id}, {"error", added.error().message}});
      for (GstElement* e : source.elements)
        gst_bin_remove(GST_BIN(pipeline_.get()), e);
      continue;
    }
    for (GstElement* e : source.elements)
      gst_element_sync_state_with_parent(e);
    stage_sources_.emplace(input.id, std::move(source));
  }
  select(mixer_->guests() > 0);
  if (mixer_->hasInterpreter())
    addInterpreterRendition();
}

GstPad* RoomPipeline::interpreterVideo() const {
  return mixer_ ? mixer_->interpreterVideoOut() : nullptr;
}

void RoomPipeline::addInterpreterRendition() {
  if (interpreter_hls_ || !mixer_ || !mixer_->interpreterTee())
    return;
  auto r = std::make_unique<InterpreterRendition>();
  GstElement* sink = hlsSink("interpreter");
  GstElement* vq = add("queue");
  GstElement* aq = add("queue");
  if (!sink || !vq || !aq)
    return;
  for (GstElement* q : {vq, aq}) {
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 static_cast<guint64>(3 * GST_SECOND), nullptr);
  }
  r->elements = {vq, aq, sink};
  GstPtr<GstPad> vsink(gst_element_request_pad_simple(sink, "video"));
  GstPtr<GstPad> asink(gst_element_request_pad_simple(sink, "audio"));
  GstPtr<GstPad> vq_src(gst_element_get_static_pad(vq, "src"));
  GstPtr<GstPad> aq_src(gst_element_get_static_pad(aq, "src"));
  gst_pad_link(vq_src.get(), vsink.get());
  gst_pad_link(aq_src.get(), asink.get());
  for (GstElement* e : r->elements)
    gst_element_sync_state_with_parent(e);
  r->video_tee_pad = gst_element_request_pad_simple(mixer_->interpreterTee(), "src_%u");
  r->audio_tee_pad =
      spare_aac_pad_ ? spare_aac_pad_ : gst_element_request_pad_simple(aac_tee_, "src_%u");
  spare_aac_pad_ = nullptr;
  GstPtr<GstPad> vq_sink(gst_element_get_static_pad(vq, "sink"));
  GstPtr<GstPad> aq_sink(gst_element_get_static_pad(aq, "sink"));
  gst_pad_link(r->video_tee_pad, vq_sink.get());
  gst_pad_link(r->audio_tee_pad, aq_sink.get());
  interpreter_hls_ = std::move(r);
  log::info("interpreter rendition started", {{"room", setup_.room}});
}

void RoomPipeline::dropInterpreterRendition() {
  if (!interpreter_hls_)
    return;
  auto& r = *interpreter_hls_;
  // Unlinked, not released (as in dropMixer): the AAC tee's pad stays for
  // the next interpreter; the variant's tee goes with the variant.
  for (GstPad* pad : {r.video_tee_pad, r.audio_tee_pad}) {
    GstPtr<GstPad> peer(gst_pad_get_peer(pad));
    if (peer)
      gst_pad_unlink(pad, peer.get());
  }
  gst_object_unref(r.video_tee_pad);
  spare_aac_pad_ = r.audio_tee_pad;
  for (auto it = r.elements.rbegin(); it != r.elements.rend(); ++it)
    gst_element_set_state(*it, GST_STATE_NULL);  // the sink first: it unblocks the queues
  for (GstElement* e : r.elements)
    gst_bin_remove(GST_BIN(pipeline_.get()), e);
  hls_sinks_.erase("interpreter");
  fragments_.erase("hls-interpreter");
  interpreter_hls_.reset();
  std::error_code ec;
  std::filesystem::remove_all(setup_.hls_dir + "/interpreter", ec);
  log::info("interpreter rendition stopped", {{"room", setup_.room}});
}

void RoomPipeline::stop(std::function<void()> done) {
  if (done)
    stop_waiters_.push_back(std::move(done));
  if (stopping_)
    return;
  stopping_ = true;
  health_timer_.cancel();
  gather_timer_.cancel();
  keyframe_timer_.cancel();
  if (recorder_ && recording_open_) {
    // Finish the MP4 (moov) before the pipeline goes: EOS into the recorder only,
    // with a watchdog in case it never reports the piece closed.
    // EOS is a serialized event: sending it waits for the pad's streaming
    // thread, which may itself wait (for a keyframe, a full queue). Send it
    // from GStreamer's thread pool so the control thread never waits.
    auto* pads = new std::vector<GstPtr<GstPad>>();
    for (auto& pad : recorder_pads_)
      pads->emplace_back(GST_PAD(gst_object_ref(pad.get())));
    gst_element_call_async(
        pipeline_.get(),
        [](GstElement*, gpointer data) {
          for (auto& pad : *static_cast<std::vector<GstPtr<GstPad>>*>(data))
            gst_pad_send_event(pad.get(), gst_event_new_eos());
        },
        pads, [](gpointer data) { delete static_cast<std::vector<GstPtr<GstPad>>*>(data); });
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
  if (!pipeline_ || going_null_)
    return;
  going_null_ = true;
  stop_timer_.cancel();
  bus_watch_.reset();
  // The state change to NULL joins every streaming thread; one that waits on
  // something (a serialized event, a keyframe) would hold the node's control
  // thread for as long. It runs on GStreamer's thread pool instead, and the
  // rest of the teardown comes back to the control thread when it is done.
  gst_element_call_async(
      pipeline_.get(),
      [](GstElement* pipeline, gpointer data) {
        gst_element_set_state(pipeline, GST_STATE_NULL);
        (*static_cast<Post*>(data))([](RoomPipeline& p) { p.afterNull(); });
      },
      new Post(post_), [](gpointer data) { delete static_cast<Post*>(data); });
}

void RoomPipeline::afterNull() {
  releaseAll();  // the pipeline is in NULL already: only references go
  pipeline_.reset();
  recorder_pads_.clear();
  std::error_code ec;
  std::filesystem::remove_all(setup_.hls_dir, ec);
  auto waiters = std::move(stop_waiters_);
  stop_waiters_.clear();
  for (auto& w : waiters)
    w();  // may destroy this object: nothing after
}

}  // namespace jobcast::media
