// Control thread, except the hlssink2 stream handlers marked "streaming thread".

#include "media/hls_ladder.h"

#include <gio/gio.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <deque>
#include <mutex>
#include <utility>

#include "core/log.h"
#include "media/gst_refs.h"
#include "media/hls_store.h"
#include "media/packed_audio.h"
#include "media/teardown_worker.h"
#include "media/x264.h"

namespace jobcast::media {

// The fragment streams hlssink2 asked for and that have not been taken yet,
// oldest first. A stream is retired once hlssink2 asks for the next one: its
// sink is stopped then (a sink's stream only changes in NULL or READY), so
// nothing writes into it any more and the control thread may read it.
struct HlsLadder::Fragments {
  struct Stream {
    GObjectPtr<GOutputStream> stream;
    bool retired = false;
  };
  std::mutex mutex;
  std::deque<Stream> open;
};

namespace {

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

bool linkToRequestPad(GstElement* from, GstElement* to, const char* pad_name) {
  GstPtr<GstPad> sink(gst_element_request_pad_simple(to, pad_name));
  GstPtr<GstPad> src(gst_element_get_static_pad(from, "src"));
  return sink && src && gst_pad_link(src.get(), sink.get()) == GST_PAD_LINK_OK;
}

// Streaming thread: a new fragment of a rendition begins; its bytes go into
// memory. hlssink2 takes the returned reference.
GOutputStream* onFragmentStream(GstElement*, const gchar*, gpointer data) {
  auto& fragments = **static_cast<std::shared_ptr<HlsLadder::Fragments>*>(data);
  GOutputStream* stream = g_memory_output_stream_new_resizable();
  std::lock_guard lock(fragments.mutex);
  for (auto& older : fragments.open)
    older.retired = true;
  fragments.open.push_back({GObjectPtr<GOutputStream>(G_OUTPUT_STREAM(g_object_ref(stream)))});
  return stream;
}

constexpr const char* kPackedSegment = "jobcast-packed-audio-segment";
constexpr const char* kLowLatencyPart = "jobcast-ll-part";

GBytes* bytesOf(std::shared_ptr<const std::string> data) {
  auto* held = new std::shared_ptr<const std::string>(std::move(data));
  return g_bytes_new_with_free_func(
      (*held)->data(), (*held)->size(),
      [](gpointer p) { delete static_cast<std::shared_ptr<const std::string>*>(p); }, held);
}

std::shared_ptr<const std::string> stringOf(GBytes* bytes) {
  gsize size = 0;
  const auto* p = static_cast<const char*>(g_bytes_get_data(bytes, &size));
  return std::make_shared<const std::string>(p, size);
}

// Streaming thread: one ADTS frame of the audio-only rendition. A segment it
// closes goes to the control thread as an element message on the bus.
GstFlowReturn onPackedAudioSample(GstAppSink* appsink, gpointer data) {
  auto* cutter = static_cast<PackedAudioCutter*>(data);
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  const GstSegment* segment = gst_sample_get_segment(sample);
  GstClockTime pts = buffer ? GST_BUFFER_PTS(buffer) : GST_CLOCK_TIME_NONE;
  GstClockTime running = GST_CLOCK_TIME_IS_VALID(pts) && segment
                             ? gst_segment_to_running_time(segment, GST_FORMAT_TIME, pts)
                             : GST_CLOCK_TIME_NONE;
  GstMapInfo map;
  if (GST_CLOCK_TIME_IS_VALID(running) && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    GstClockTime duration = GST_BUFFER_DURATION(buffer);
    auto closed =
        cutter->push(std::string_view(reinterpret_cast<const char*>(map.data), map.size),
                     static_cast<int64_t>(running),
                     GST_CLOCK_TIME_IS_VALID(duration) ? static_cast<int64_t>(duration) : 0);
    gst_buffer_unmap(buffer, &map);
    if (closed) {
      auto* held = new std::string(std::move(closed->bytes));
      GBytes* bytes = g_bytes_new_with_free_func(
          held->data(), held->size(), [](gpointer p) { delete static_cast<std::string*>(p); },
          held);
      GstStructure* s = gst_structure_new(kPackedSegment, "bytes", G_TYPE_BYTES, bytes, "seconds",
                                          G_TYPE_DOUBLE, closed->seconds, nullptr);
      g_bytes_unref(bytes);
      gst_element_post_message(GST_ELEMENT(appsink),
                               gst_message_new_element(GST_OBJECT(appsink), s));
    }
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

}  // namespace

// The "ll" rendition's state, shared by its two appsinks' streaming threads.
struct HlsLadder::LowLatency {
  std::mutex mutex;
  cmaf::LlCutter cutter;
  GstElement* video_sink = nullptr;  // owned by the pipeline
  GstCaps* audio_caps = nullptr;     // the caps `audio` was read from (compared, not held)
  cmaf::AudioConfig audio;
  bool audio_known = false;
  LowLatency(int64_t part_ns, int64_t segment_ns) : cutter(part_ns, segment_ns) {}
};

namespace {

GstClockTime runningTime(const GstSample* sample, GstClockTime t) {
  const GstSegment* segment = gst_sample_get_segment(const_cast<GstSample*>(sample));
  if (!GST_CLOCK_TIME_IS_VALID(t) || !segment)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_running_time(segment, GST_FORMAT_TIME, t);
}

// Streaming thread: one access unit of the programme's H.264 for the "ll"
// rendition. A part it closes goes to the control thread on the bus.
GstFlowReturn onLowLatencyVideo(GstAppSink* appsink, gpointer data) {
  auto& ll = *static_cast<std::shared_ptr<HlsLadder::LowLatency>*>(data);
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstClockTime pts = runningTime(sample, buffer ? GST_BUFFER_PTS(buffer) : GST_CLOCK_TIME_NONE);
  GstClockTime dts = runningTime(sample, buffer ? GST_BUFFER_DTS(buffer) : GST_CLOCK_TIME_NONE);
  if (!GST_CLOCK_TIME_IS_VALID(dts))
    dts = pts;
  GstMapInfo map;
  std::optional<cmaf::Part> part;
  bool ask_keyframe = false;
  if (GST_CLOCK_TIME_IS_VALID(pts) && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    bool keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    std::lock_guard lock(ll->mutex);
    part = ll->cutter.pushVideo(std::string_view(reinterpret_cast<const char*>(map.data), map.size),
                                static_cast<int64_t>(dts), static_cast<int64_t>(pts), keyframe);
    ask_keyframe = ll->cutter.takeKeyframeRequest();
    gst_buffer_unmap(buffer, &map);
  }
  gst_sample_unref(sample);
  if (ask_keyframe) {
    // The segment is past its target and the source sent no keyframe: ask,
    // as hlssink2 does for its renditions.
    GstPtr<GstPad> pad(gst_element_get_static_pad(GST_ELEMENT(appsink), "sink"));
    gst_pad_push_event(pad.get(),
                       gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
  }
  if (part) {
    GBytes* bytes = bytesOf(part->bytes);
    GstStructure* s =
        gst_structure_new(kLowLatencyPart, "bytes", G_TYPE_BYTES, bytes, "duration", G_TYPE_DOUBLE,
                          part->duration, "independent", G_TYPE_BOOLEAN, part->independent,
                          "segment-start", G_TYPE_BOOLEAN, part->segment_start, nullptr);
    g_bytes_unref(bytes);
    if (part->init) {
      GBytes* init = bytesOf(part->init);
      gst_structure_set(s, "init", G_TYPE_BYTES, init, nullptr);
      g_bytes_unref(init);
    }
    gst_element_post_message(GST_ELEMENT(appsink), gst_message_new_element(GST_OBJECT(appsink), s));
  }
  return GST_FLOW_OK;
}

// Streaming thread: one raw AAC frame of the programme for the "ll" rendition.
GstFlowReturn onLowLatencyAudio(GstAppSink* appsink, gpointer data) {
  auto& ll = *static_cast<std::shared_ptr<HlsLadder::LowLatency>*>(data);
  GstSample* sample = gst_app_sink_pull_sample(appsink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstClockTime pts = runningTime(sample, buffer ? GST_BUFFER_PTS(buffer) : GST_CLOCK_TIME_NONE);
  GstMapInfo map;
  if (GST_CLOCK_TIME_IS_VALID(pts) && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    std::lock_guard lock(ll->mutex);
    GstCaps* caps = gst_sample_get_caps(sample);
    if (caps && caps != ll->audio_caps) {
      // The AudioSpecificConfig travels in the caps' codec_data.
      ll->audio_caps = caps;
      const GstStructure* st = gst_caps_get_structure(caps, 0);
      const GValue* v = gst_structure_get_value(st, "codec_data");
      int rate = 0, channels = 0;
      gst_structure_get_int(st, "rate", &rate);
      gst_structure_get_int(st, "channels", &channels);
      if (v && GST_VALUE_HOLDS_BUFFER(v) && rate > 0 && channels > 0) {
        GstBuffer* cd = gst_value_get_buffer(v);
        GstMapInfo cm;
        if (gst_buffer_map(cd, &cm, GST_MAP_READ)) {
          ll->audio.asc.assign(reinterpret_cast<const char*>(cm.data), cm.size);
          gst_buffer_unmap(cd, &cm);
          ll->audio.sample_rate = static_cast<uint32_t>(rate);
          ll->audio.channels = channels;
          ll->audio_known = true;
        }
      }
    }
    if (ll->audio_known) {
      ll->cutter.pushAudio(std::string_view(reinterpret_cast<const char*>(map.data), map.size),
                           static_cast<int64_t>(pts), ll->audio);
    }
    gst_buffer_unmap(buffer, &map);
  }
  gst_sample_unref(sample);
  return GST_FLOW_OK;
}

// Streaming or control thread: hlssink2 rewrites its own playlist after each
// fragment. The node serves playlists from HlsStore, so it goes nowhere.
GOutputStream* onPlaylistStream(GstElement*, const gchar*, gpointer) {
  return g_memory_output_stream_new_resizable();
}

}  // namespace

HlsLadder::HlsLadder(GstBin* pipeline, TeardownWorker& worker, const MediaOptions& options,
                     Segment segment)
    : pipeline_(pipeline), worker_(worker), options_(options), segment_(std::move(segment)) {}

HlsLadder::~HlsLadder() = default;  // the elements go with the pipeline

GstElement* HlsLadder::add(const char* factory, const char* name) {
  return addElement(pipeline_, factory, name);
}

GstElement* HlsLadder::sink(const std::string& rendition) {
  GstElement* sink = add("hlssink2", ("hls-" + rendition).c_str());
  if (!sink)
    return nullptr;
  // The locations only name fragments in hlssink2's own playlist: the
  // streams below replace every file it would open.
  g_object_set(sink, "location", (rendition + "/%05d.ts").c_str(), "playlist-location",
               (rendition + "/playlist.m3u8").c_str(), "target-duration",
               static_cast<guint>(options_.segment_seconds), "max-files", 0u, "playlist-length", 3u,
               "send-keyframe-requests", TRUE, nullptr);
  Rendition r;
  r.sink = sink;
  r.fragments = std::make_shared<Fragments>();
  g_signal_connect_data(
      sink, "get-fragment-stream", G_CALLBACK(onFragmentStream),
      new std::shared_ptr<Fragments>(r.fragments),
      [](gpointer data, GClosure*) { delete static_cast<std::shared_ptr<Fragments>*>(data); },
      GConnectFlags(0));
  g_signal_connect(sink, "get-playlist-stream", G_CALLBACK(onPlaylistStream), nullptr);
  renditions_[rendition] = std::move(r);
  return sink;
}

Result<bool> HlsLadder::buildPackedAudio(GstElement* pcm_tee) {
  // Weak networks: its own encoder, mono at a low rate, and no transport
  // stream around the frames (see media/packed_audio.h).
  GstElement* q = add("queue");
  GstElement* conv = add("audioconvert");
  GstElement* raw = add("capsfilter");
  GstElement* enc = add("voaacenc");
  GstElement* parse = add("aacparse");
  GstElement* adts = add("capsfilter");
  GstElement* appsink = add("appsink", "hls-audio");
  if (!q || !conv || !raw || !enc || !parse || !adts || !appsink)
    return Error{"media_unavailable", "GStreamer element missing: voaacenc/aacparse/appsink"};
  g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
               static_cast<guint64>(3 * GST_SECOND), nullptr);
  CapsPtr mono(gst_caps_from_string("audio/x-raw,format=S16LE,rate=48000,channels=1"));
  g_object_set(raw, "caps", mono.get(), nullptr);
  g_object_set(enc, "bitrate", options_.audio_only_kbps * 1000, nullptr);
  CapsPtr adts_caps(gst_caps_from_string("audio/mpeg,mpegversion=4,stream-format=adts"));
  g_object_set(adts, "caps", adts_caps.get(), nullptr);
  g_object_set(appsink, "sync", FALSE, "async", FALSE, "max-buffers", 0u, nullptr);
  auto* cutter = new PackedAudioCutter(options_.segment_seconds);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = onPackedAudioSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &callbacks, cutter,
                             [](gpointer p) { delete static_cast<PackedAudioCutter*>(p); });
  if (!gst_element_link_many(pcm_tee, q, conv, raw, enc, parse, adts, appsink, nullptr))
    return Error{"media_error", "cannot link the audio-only rendition"};
  packed_audio_ = true;
  return true;
}

Result<bool> HlsLadder::buildLowLatency() {
  GstElement* vq = add("queue");
  GstElement* vparse = add("h264parse");
  GstElement* vcaps = add("capsfilter");
  GstElement* vsink = add("appsink", "hls-ll-video");
  GstElement* aq = add("queue");
  GstElement* aparse = add("aacparse");
  GstElement* acaps = add("capsfilter");
  GstElement* asink = add("appsink", "hls-ll-audio");
  if (!vq || !vparse || !vcaps || !vsink || !aq || !aparse || !acaps || !asink)
    return Error{"media_unavailable", "GStreamer element missing: h264parse/aacparse/appsink"};
  for (GstElement* q : {vq, aq}) {
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time",
                 static_cast<guint64>(3 * GST_SECOND), nullptr);
  }
  // Parameter sets with every keyframe: a new initialization segment is cut
  // from them whenever they change.
  g_object_set(vparse, "config-interval", -1, nullptr);
  CapsPtr vc(gst_caps_from_string("video/x-h264,stream-format=byte-stream,alignment=au"));
  g_object_set(vcaps, "caps", vc.get(), nullptr);
  CapsPtr ac(gst_caps_from_string("audio/mpeg,mpegversion=4,stream-format=raw"));
  g_object_set(acaps, "caps", ac.get(), nullptr);
  for (GstElement* sink : {vsink, asink})
    g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 0u, nullptr);
  auto ll = std::make_shared<LowLatency>(int64_t{options_.ll_part_ms} * 1000000,
                                         int64_t{options_.segment_seconds} * 1000000000);
  ll->video_sink = vsink;
  low_latency_ = ll;
  auto callbacks = [&ll](GstElement* sink, GstFlowReturn (*fn)(GstAppSink*, gpointer)) {
    GstAppSinkCallbacks cb{};
    cb.new_sample = fn;
    gst_app_sink_set_callbacks(
        GST_APP_SINK(sink), &cb, new std::shared_ptr<LowLatency>(ll),
        [](gpointer p) { delete static_cast<std::shared_ptr<LowLatency>*>(p); });
  };
  callbacks(vsink, onLowLatencyVideo);
  callbacks(asink, onLowLatencyAudio);
  if (!gst_element_link(video_tee_, vq) ||
      !gst_element_link_many(vq, vparse, vcaps, vsink, nullptr) ||
      !gst_element_link(aac_tee_, aq) || !gst_element_link_many(aq, aparse, acaps, asink, nullptr))
    return Error{"media_error", "cannot link the low-latency rendition"};
  return true;
}

Result<bool> HlsLadder::build(const std::vector<std::string>& renditions, GstElement* video_tee,
                              GstElement* aac_tee, GstElement* pcm_tee) {
  video_tee_ = video_tee;
  aac_tee_ = aac_tee;
  auto queue = [this](guint64 max_ns) {
    GstElement* q = add("queue");
    if (q) {
      g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", max_ns,
                   nullptr);
    }
    return q;
  };
  const guint64 second = GST_SECOND;
  for (const auto& rendition : renditions) {
    if (rendition == "audio") {
      auto built = buildPackedAudio(pcm_tee);
      if (!built)
        return built;
      continue;
    }
    if (rendition == "ll") {
      auto built = buildLowLatency();
      if (!built)
        return built;
      continue;
    }
    GstElement* sink = this->sink(rendition);
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
      std::string raw_caps = "video/x-raw,format=I420,width=" + std::to_string(options_.low_width) +
                             ",height=" + std::to_string(options_.low_height) +
                             ",pixel-aspect-ratio=1/1";
      CapsPtr rc(gst_caps_from_string(raw_caps.c_str()));
      g_object_set(raw, "caps", rc.get(), nullptr);
      CapsPtr oc(gst_caps_from_string(kBaselineH264Caps));
      g_object_set(out, "caps", oc.get(), nullptr);
      // Keyframes come from hlssink2's requests at each segment boundary; the
      // encoder's own interval is only a backstop, far enough not to cut a
      // segment short.
      configureX264(enc, {.kbps = options_.low_video_kbps,
                          .key_int_max = 120 * options_.segment_seconds,
                          .vbv_ms = 1000,
                          .no_scenecut = true});
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
      low_src_.reset(gst_element_get_static_pad(low_parse_, "src"));
    } else {
      return Error{"bad_config", "unknown rendition " + rendition};
    }
    GstElement* aq = queue(3 * second);
    if (!aq || !gst_element_link(aac_tee_, aq) || !linkToRequestPad(aq, sink, "audio"))
      return Error{"media_error", "cannot link audio into " + rendition};
  }
  return true;
}

void HlsLadder::addInterpreter(GstElement* variant_tee) {
  if (interpreter_ || !variant_tee || state_ == State::Stopped)
    return;
  auto r = std::make_unique<Interpreter>();
  GstElement* sink = this->sink("interpreter");
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
  r->video_tee_pad.reset(gst_element_request_pad_simple(variant_tee, "src_%u"));
  r->audio_tee_pad = spare_aac_pad_
                         ? std::move(spare_aac_pad_)
                         : GstPtr<GstPad>(gst_element_request_pad_simple(aac_tee_, "src_%u"));
  GstPtr<GstPad> vq_sink(gst_element_get_static_pad(vq, "sink"));
  GstPtr<GstPad> aq_sink(gst_element_get_static_pad(aq, "sink"));
  gst_pad_link(r->video_tee_pad.get(), vq_sink.get());
  gst_pad_link(r->audio_tee_pad.get(), aq_sink.get());
  interpreter_ = std::move(r);
  log::info("interpreter rendition started", {});
}

void HlsLadder::dropInterpreter() {
  if (!interpreter_)
    return;
  auto& r = *interpreter_;
  // Unlinked, not released (as the mixer's pads): the AAC tee's pad stays for
  // the next interpreter; the variant's tee goes with the variant.
  for (GstPad* pad : {r.video_tee_pad.get(), r.audio_tee_pad.get()}) {
    GstPtr<GstPad> peer(gst_pad_get_peer(pad));
    if (peer)
      gst_pad_unlink(pad, peer.get());
  }
  spare_aac_pad_ = std::move(r.audio_tee_pad);
  // Stopped and removed on the teardown worker: the sink first, it unblocks
  // the queues.
  struct Doomed {
    std::vector<GstElement*> elements;
    GObjectPtr<GstBin> pipeline;
  };
  auto doomed = std::make_shared<Doomed>();
  doomed->elements = std::move(r.elements);
  doomed->pipeline = retain(pipeline_);
  worker_.run([doomed] {
    auto& elements = doomed->elements;
    for (auto it = elements.rbegin(); it != elements.rend(); ++it)
      gst_element_set_state(*it, GST_STATE_NULL);
    for (GstElement* e : elements)
      gst_bin_remove(doomed->pipeline.get(), e);
  });
  renditions_.erase("interpreter");
  interpreter_.reset();
  log::info("interpreter rendition stopped", {});
}

void HlsLadder::splitNow() {
  if (low_latency_) {
    std::lock_guard lock(low_latency_->mutex);
    low_latency_->cutter.splitAtNextKeyframe();
  }
  for (const auto& [rendition, r] : renditions_) {
    if (rendition == "audio")
      continue;
    GstIterator* it = gst_bin_iterate_elements(GST_BIN(r.sink));
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
}

bool HlsLadder::onFragmentMessage(GstMessage* message) {
  const GstStructure* s = gst_message_get_structure(message);
  if (!s)
    return false;
  if (gst_structure_has_name(s, kLowLatencyPart)) {
    if (!low_latency_ || state_ == State::Stopped)
      return true;
    GBytes* data = nullptr;
    GBytes* init = nullptr;
    cmaf::Part part;
    gboolean independent = FALSE, segment_start = FALSE;
    gst_structure_get(s, "bytes", G_TYPE_BYTES, &data, "duration", G_TYPE_DOUBLE, &part.duration,
                      "independent", G_TYPE_BOOLEAN, &independent, "segment-start", G_TYPE_BOOLEAN,
                      &segment_start, nullptr);
    if (gst_structure_has_field(s, "init"))
      gst_structure_get(s, "init", G_TYPE_BYTES, &init, nullptr);
    part.independent = independent;
    part.segment_start = segment_start;
    if (data) {
      part.bytes = stringOf(data);
      g_bytes_unref(data);
    }
    if (init) {
      part.init = stringOf(init);
      g_bytes_unref(init);
    }
    if (part.bytes && part_)
      part_("ll", part);
    return true;
  }
  if (gst_structure_has_name(s, kPackedSegment)) {
    if (!packed_audio_ || state_ == State::Stopped)
      return true;
    GBytes* data = nullptr;
    double seconds = 0;
    gst_structure_get(s, "bytes", G_TYPE_BYTES, &data, "seconds", G_TYPE_DOUBLE, &seconds, nullptr);
    if (!data)
      return true;
    gsize size = 0;
    const auto* p = static_cast<const char*>(g_bytes_get_data(data, &size));
    auto bytes = std::make_shared<const std::string>(p, size);
    g_bytes_unref(data);
    state_ = State::Running;
    if (segment_ && !bytes->empty())
      segment_("audio", seconds, std::move(bytes));
    return true;
  }
  bool opened = gst_structure_has_name(s, "splitmuxsink-fragment-opened");
  bool closed = gst_structure_has_name(s, "splitmuxsink-fragment-closed");
  if (!opened && !closed)
    return false;
  GstPtr<GstObject> parent(gst_object_get_parent(GST_MESSAGE_SRC(message)));
  if (!parent)
    return false;
  std::string owner = GST_OBJECT_NAME(parent.get());
  if (owner.rfind("hls-", 0) != 0)
    return false;
  std::string rendition = owner.substr(4);
  auto it = renditions_.find(rendition);
  if (it == renditions_.end())
    return true;  // a rendition dropped meanwhile
  Rendition& r = it->second;
  GstClockTime running = GST_CLOCK_TIME_NONE;
  gst_structure_get_clock_time(s, "running-time", &running);
  if (opened) {
    r.opened = running;
  } else {
    double seconds = 0;
    if (GST_CLOCK_TIME_IS_VALID(running) && GST_CLOCK_TIME_IS_VALID(r.opened) &&
        running > r.opened) {
      seconds = static_cast<double>(running - r.opened) / GST_SECOND;
    }
    r.closed.push_back(seconds);
  }
  // Closed fragments whose stream is retired become segments: usually the
  // one that just closed, at the next fragment's "opened".
  std::vector<std::pair<GObjectPtr<GOutputStream>, double>> ready;
  {
    std::lock_guard lock(r.fragments->mutex);
    auto& open = r.fragments->open;
    while (!r.closed.empty() && !open.empty() && open.front().retired) {
      ready.emplace_back(std::move(open.front().stream), r.closed.front());
      open.pop_front();
      r.closed.pop_front();
    }
  }
  for (auto& [stream, seconds] : ready) {
    auto* memory = G_MEMORY_OUTPUT_STREAM(stream.get());
    auto bytes = std::make_shared<const std::string>(
        static_cast<const char*>(g_memory_output_stream_get_data(memory)),
        g_memory_output_stream_get_data_size(memory));
    if (bytes->empty() || state_ == State::Stopped)
      continue;
    state_ = State::Running;
    if (segment_)
      segment_(rendition, seconds, std::move(bytes));
  }
  return true;
}

VideoFormat HlsLadder::format(const std::string& rendition) const {
  if ((rendition == "source" || rendition == "ll") && video_tee_) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(video_tee_, "sink"));
    return formatOf(pad.get());
  }
  if (rendition == "360p" && low_parse_) {
    GstPtr<GstPad> pad(gst_element_get_static_pad(low_parse_, "src"));
    return formatOf(pad.get());
  }
  return {};
}

}  // namespace jobcast::media
