// The appsink callbacks here run on the packetizer's streaming threads;
// Shared::onRtcp on the engine's thread.

#include "media/egress/rendition.h"

#include <gst/app/gstappsink.h>
#include <gst/rtp/gstrtpbuffer.h>
#include <openssl/rand.h>

#include <algorithm>

#include "media/egress/answer.h"
#include "media/whep_session.h"

namespace jobcast::media::egress {
namespace {

uint32_t randomSsrc() {
  uint32_t value = 0;
  while (value == 0)
    RAND_bytes(reinterpret_cast<unsigned char*>(&value), sizeof value);
  return value;
}

GstElement* appsrcFor(const char* name) {
  GstElement* src = makeElement("appsrc", name);
  if (src) {
    g_object_set(src, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", FALSE,
                 "max-bytes", static_cast<guint64>(2 << 20), nullptr);
  }
  return src;
}

// The most a cached GOP may hold (2 s of 8 Mbit/s).
constexpr size_t kMaxGopBytes = 2 << 20;
// A frame longer than this goes out in parts (a keyframe of ~80 KB).
constexpr size_t kMaxFramePackets = 64;

}  // namespace

bool beginsKeyframe(const uint8_t* p, size_t size) {
  if (size < 2)
    return false;
  int type = p[0] & 0x1f;
  if (type == 7 || type == 5)
    return true;
  if (type == 24) {  // STAP-A: any aggregated SPS or IDR (an AUD may come first)
    for (size_t i = 1; i + 2 < size;) {
      size_t length = (size_t{p[i]} << 8) | p[i + 1];
      int inner = p[i + 2] & 0x1f;
      if (inner == 7 || inner == 5)
        return true;
      i += 2 + length;
    }
    return false;
  }
  if (type == 28)  // FU-A start of an IDR slice
    return (p[1] & 0x80) && (p[1] & 0x1f) == 5;
  return false;
}

EgressRendition::EgressRendition(ProgrammeFeed& feed, EgressEngine& engine)
    : feed_(feed),
      engine_(engine),
      subscribers_(std::make_shared<const std::vector<std::shared_ptr<Subscriber>>>()) {}

Result<std::unique_ptr<EgressRendition>> EgressRendition::start(
    ProgrammeFeed& feed, EgressEngine& engine, std::function<void()> request_keyframe) {
  std::unique_ptr<EgressRendition> rendition(new EgressRendition(feed, engine));
  rendition->shared_->engine = &engine;
  rendition->shared_->request_keyframe = std::move(request_keyframe);
  rendition->shared_->history.resize(kHistoryPackets);
  rendition->shared_->clock = feed.clock();
  rendition->shared_->base_time = feed.baseTime();
  rendition->shared_->cname = "jobcast-" + feed.name();
  auto built = rendition->build();
  if (!built)
    return built.error();
  return rendition;
}

Result<bool> EgressRendition::build() {
  ensureGstreamer();
  pipeline_ = adopt(gst_pipeline_new(("egress-" + feed_.name()).c_str()));
  // The programme's clock and base time, as a viewer pipeline uses them.
  ClockPtr clock = feed_.clock();
  gst_pipeline_use_clock(GST_PIPELINE(pipeline_.get()), clock.get());
  gst_element_set_start_time(pipeline_.get(), GST_CLOCK_TIME_NONE);
  gst_element_set_base_time(pipeline_.get(), feed_.baseTime());

  GstElement* vsrc = appsrcFor("video");
  GstElement* vpay = makeElement("rtph264pay");
  GstElement* vsink = makeElement("appsink", "video-rtp");
  GstElement* asrc = appsrcFor("audio");
  GstElement* apay = makeElement("rtpopuspay");
  GstElement* asink = makeElement("appsink", "audio-rtp");
  if (!vsrc || !vpay || !vsink || !asrc || !apay || !asink)
    return Error{"media_unavailable", "payloader or appsink plugins are not installed"};
  // The programme carries SPS/PPS before every keyframe; the payloader adds none.
  g_object_set(vpay, "mtu", 1200u, "config-interval", 0, nullptr);
  gst_util_set_object_arg(G_OBJECT(vpay), "aggregate-mode", "zero-latency");
  g_object_set(apay, "mtu", 1200u, nullptr);
  for (GstElement* sink : {vsink, asink}) {
    // Bounded: if fan-out falls behind, the packetizer blocks, its appsrc
    // fills, and the feed drops it to the next keyframe (never unbounded memory).
    g_object_set(sink, "sync", FALSE, "async", FALSE, "emit-signals", FALSE, "max-buffers", 2000u,
                 nullptr);
  }
  GstAppSinkCallbacks video_cb{};
  video_cb.new_sample = &EgressRendition::onVideo;
  gst_app_sink_set_callbacks(GST_APP_SINK(vsink), &video_cb, this, nullptr);
  GstAppSinkCallbacks audio_cb{};
  audio_cb.new_sample = &EgressRendition::onAudio;
  gst_app_sink_set_callbacks(GST_APP_SINK(asink), &audio_cb, this, nullptr);
  gst_bin_add_many(GST_BIN(pipeline_.get()), vsrc, vpay, vsink, asrc, apay, asink, nullptr);
  if (!gst_element_link_many(vsrc, vpay, vsink, nullptr) ||
      !gst_element_link_many(asrc, apay, asink, nullptr)) {
    return Error{"media_failed", "cannot link the packetizer"};
  }
  tap_ = feed_.addViewer(vsrc, asrc);
  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return Error{"media_failed", "the packetizer did not start"};
  feed_.activate(tap_);
  return true;
}

EgressRendition::~EgressRendition() {
  if (tap_)
    feed_.removeViewer(tap_);
  if (pipeline_)
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  for (const auto& s : *snapshot())
    engine_.removeViewer(s->viewer);
}

Result<EgressRendition::Answered> EgressRendition::addViewer(
    const std::string& offer, const std::vector<std::string>& addresses) {
  // The offered H.264 profile closest to the programme's, as WhepSession picks it.
  std::string profile = "42e01f";
  if (CapsPtr caps = feed_.videoCaps()) {
    const gchar* p = gst_structure_get_string(gst_caps_get_structure(caps.get(), 0), "profile");
    if (p && g_str_equal(p, "main"))
      profile = "4d001f";
    else if (p && g_str_has_prefix(p, "high"))
      profile = "64001f";
  }
  auto parsed = ViewerOffer::parse(offer, profile);
  if (!parsed)
    return parsed.error();
  auto transport = readOfferTransport(offer);
  if (!transport)
    return transport.error();
  auto subscriber = std::make_shared<Subscriber>();
  std::vector<AnswerMedia> media;
  for (size_t i = 0; i < parsed->media.size(); ++i) {
    const auto& chosen = parsed->media[i];
    AnswerMedia m;
    m.kind = chosen.kind;
    m.mid = i < transport->mids.size() && !transport->mids[i].empty() ? transport->mids[i]
                                                                      : std::to_string(i);
    m.payload = chosen.payload;
    m.ssrc = randomSsrc();
    if (chosen.kind == "video") {
      m.rtpmap = "H264/90000";
      m.fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" +
               chosen.profile_level_id;
      subscriber->video_pt = chosen.payload;
      subscriber->video_ssrc = m.ssrc;
      if (chosen.rtx_payload >= 0) {
        m.rtx_payload = chosen.rtx_payload;
        m.rtx_ssrc = randomSsrc();
        subscriber->rtx_pt = chosen.rtx_payload;
        subscriber->rtx_ssrc = m.rtx_ssrc;
      }
    } else {
      m.rtpmap = "opus/48000/2";
      m.fmtp = "minptime=10;useinbandfec=1";
      subscriber->audio_pt = chosen.payload;
      subscriber->audio_ssrc = m.ssrc;
    }
    media.push_back(std::move(m));
  }
  AnswerTransport answer_transport;
  answer_transport.ufrag = randomToken(8);
  answer_transport.pwd = randomToken(24);
  answer_transport.fingerprint = engine_.certificate().fingerprint();
  answer_transport.addresses = addresses;
  answer_transport.port = engine_.port();
  answer_transport.cname = shared_->cname;
  subscriber->budget = kRetransmitsPerSecond;
  subscriber->viewer = engine_.addViewer(
      {answer_transport.ufrag, answer_transport.pwd, transport->fingerprint,
       [shared = shared_, subscriber](uint64_t viewer, const rtcp::Feedback& feedback) {
         shared->onRtcp(viewer, *subscriber, feedback);
       },
       [shared = shared_, subscriber](uint64_t) { return shared->reports(*subscriber); }});
  {
    std::lock_guard lock(mutex_);
    auto next = std::make_shared<std::vector<std::shared_ptr<Subscriber>>>(*subscribers_);
    next->push_back(subscriber);
    subscribers_ = std::move(next);
  }
  return Answered{subscriber->viewer, buildAnswer(media, answer_transport)};
}

void EgressRendition::removeViewer(uint64_t viewer) {
  {
    std::lock_guard lock(mutex_);
    auto next = std::make_shared<std::vector<std::shared_ptr<Subscriber>>>();
    for (const auto& s : *subscribers_) {
      if (s->viewer != viewer)
        next->push_back(s);
    }
    subscribers_ = std::move(next);
  }
  engine_.removeViewer(viewer);
}

size_t EgressRendition::viewerCount() const {
  return snapshot()->size();
}

EgressRendition::RtcpStats EgressRendition::rtcpStats() const {
  return {shared_->nacked,         shared_->retransmitted, shared_->rtx,
          shared_->not_in_history, shared_->rate_limited,  shared_->keyframe_requests};
}

void EgressRendition::Shared::remember(EgressEngine::Packet packet) {
  const auto& data = *packet;
  uint16_t seq = static_cast<uint16_t>((data[2] << 8) | data[3]);
  auto now = std::chrono::steady_clock::now();
  EgressEngine::Packet old;  // released outside the lock
  std::lock_guard lock(history_mutex);
  Entry& entry = history[seq % kHistoryPackets];
  old = std::move(entry.packet);
  entry.packet = std::move(packet);
  entry.at = now;
}

void EgressRendition::Shared::onRtcp(uint64_t viewer, Subscriber& s,
                                     const rtcp::Feedback& feedback) {
  for (uint32_t ssrc : feedback.keyframe_ssrcs) {
    if (ssrc == s.video_ssrc || ssrc == 0) {
      ++keyframe_requests;
      if (request_keyframe)
        request_keyframe();
      break;
    }
  }
  auto now = std::chrono::steady_clock::now();
  for (const auto& nack : feedback.nacks) {
    if (nack.media_ssrc != s.video_ssrc || !s.offset_known)
      continue;
    // Refill the budget for the time since it was last looked at.
    double elapsed = std::chrono::duration<double>(now - s.budget_at).count();
    s.budget = std::min(kRetransmitsPerSecond, s.budget + elapsed * kRetransmitsPerSecond);
    s.budget_at = now;
    uint16_t offset = static_cast<uint16_t>(s.video_seq_offset.load());
    for (uint16_t seq : nack.seqs) {
      ++nacked;
      if (s.budget < 1) {
        ++rate_limited;
        continue;
      }
      uint16_t prepared = static_cast<uint16_t>(seq - offset);
      std::vector<uint8_t> packet;
      {
        std::lock_guard lock(history_mutex);
        const Entry& entry = history[prepared % kHistoryPackets];
        if (entry.packet && entry.packet->size() >= 12 && now - entry.at <= kHistoryAge &&
            (((*entry.packet)[2] << 8) | (*entry.packet)[3]) == prepared) {
          packet = *entry.packet;
        }
      }
      if (packet.empty()) {
        ++not_in_history;
        continue;
      }
      s.budget -= 1;
      size_t header = SrtpSender::headerLength(packet.data(), packet.size());
      if (header == 0)
        continue;
      uint32_t ssrc = s.video_ssrc;
      uint16_t out_seq = seq;
      int pt = s.video_pt;
      if (s.rtx_pt >= 0) {
        // RFC 4588: its own SSRC, payload type and sequence, the original
        // sequence number in front of the payload.
        packet.insert(packet.begin() + static_cast<std::ptrdiff_t>(header),
                      {static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq)});
        ssrc = s.rtx_ssrc;
        out_seq = s.rtx_seq++;
        pt = s.rtx_pt;
        ++rtx;
      }
      packet[1] = static_cast<uint8_t>((packet[1] & 0x80) | pt);
      packet[2] = static_cast<uint8_t>(out_seq >> 8);
      packet[3] = static_cast<uint8_t>(out_seq);
      packet[8] = static_cast<uint8_t>(ssrc >> 24);
      packet[9] = static_cast<uint8_t>(ssrc >> 16);
      packet[10] = static_cast<uint8_t>(ssrc >> 8);
      packet[11] = static_cast<uint8_t>(ssrc);
      ++retransmitted;
      engine->send(viewer, std::move(packet));
    }
  }
}

std::vector<uint8_t> EgressRendition::Shared::reports(const Subscriber& s) {
  if (!clock)
    return {};
  // "Now" on both clocks, read together.
  GstClockTime clock_now = gst_clock_get_time(clock.get());
  int64_t wall = g_get_real_time() * 1000;
  if (clock_now == GST_CLOCK_TIME_NONE || clock_now < base_time)
    return {};
  GstClockTime running_now = clock_now - base_time;
  uint64_t ntp = rtcp::ntpFromUnixNanos(wall);
  std::vector<rtcp::SenderInfo> streams;
  auto add = [&](Timeline& timeline, uint32_t ssrc, int64_t rate, uint32_t packets,
                 uint32_t octets) {
    if (ssrc == 0 || packets == 0)
      return;  // nothing sent yet: nothing to report
    std::lock_guard lock(timeline.mutex);
    if (!timeline.known)
      return;
    // The RTP clock runs on from the latest packet at the stream's rate
    // (modulo 2^32; backwards if that packet was stamped ahead of now).
    int64_t elapsed =
        static_cast<int64_t>(running_now) - static_cast<int64_t>(timeline.running_time);
    int64_t ticks = elapsed / 1000 * rate / 1000000;
    streams.push_back(
        {ssrc, ntp, timeline.rtp_timestamp + static_cast<uint32_t>(ticks), packets, octets});
  };
  add(video_timeline, s.video_ssrc, 90000, s.video_packets.load(std::memory_order_relaxed),
      s.video_octets.load(std::memory_order_relaxed));
  add(audio_timeline, s.audio_ssrc, 48000, s.audio_packets.load(std::memory_order_relaxed),
      s.audio_octets.load(std::memory_order_relaxed));
  return rtcp::senderReports(streams, cname);
}

EgressRendition::Snapshot EgressRendition::snapshot() const {
  std::lock_guard lock(mutex_);
  return subscribers_;
}

GstFlowReturn EgressRendition::onVideo(GstAppSink* sink, gpointer self) {
  static_cast<EgressRendition*>(self)->fanOut(sink, true);
  return GST_FLOW_OK;
}

GstFlowReturn EgressRendition::onAudio(GstAppSink* sink, gpointer self) {
  static_cast<EgressRendition*>(self)->fanOut(sink, false);
  return GST_FLOW_OK;
}

void EgressRendition::fanOut(GstAppSink* sink, bool video) {
  SamplePtr sample(gst_app_sink_pull_sample(sink));
  if (!sample)
    return;
  GstBuffer* buffer = gst_sample_get_buffer(sample.get());
  GstMapInfo map;
  if (!buffer || !gst_buffer_map(buffer, &map, GST_MAP_READ))
    return;
  ++packets_prepared_;
  bool keyframe = false;
  if (video) {
    size_t header = SrtpSender::headerLength(map.data, map.size);
    keyframe =
        header > 0 && header < map.size && beginsKeyframe(map.data + header, map.size - header);
  }
  if (map.size < 12) {
    gst_buffer_unmap(buffer, &map);
    return;
  }
  // The one copy of this packet: shared by the GOP cache, the history and
  // every viewer's send.
  auto packet = std::make_shared<const std::vector<uint8_t>>(map.data, map.data + map.size);
  gst_buffer_unmap(buffer, &map);
  const std::vector<uint8_t>& bytes = *packet;
  uint32_t timestamp = (uint32_t{bytes[4]} << 24) | (uint32_t{bytes[5]} << 16) |
                       (uint32_t{bytes[6]} << 8) | bytes[7];
  // The payloader stamped this packet from its running time (the buffer's
  // PTS): the pair places the stream's RTP clock on the programme's.
  if (GST_BUFFER_PTS_IS_VALID(buffer)) {
    Shared::Timeline& timeline = video ? shared_->video_timeline : shared_->audio_timeline;
    std::lock_guard lock(timeline.mutex);
    timeline.rtp_timestamp = timestamp;
    timeline.running_time = GST_BUFFER_PTS(buffer);
    timeline.known = true;
  }
  if (!video) {
    distribute({{packet, false}}, false);
    return;
  }
  // A frame whose last packet (the marker) never came ends at the next one.
  if (!frame_.empty() && timestamp != frame_timestamp_) {
    distribute(frame_, true);
    frame_.clear();
  }
  // Every slice of one keyframe begins "a keyframe": only a new timestamp
  // starts a new GOP.
  if (keyframe && (!gop_valid_ || timestamp != gop_timestamp_)) {
    gop_.clear();
    gop_bytes_ = 0;
    gop_timestamp_ = timestamp;
    gop_valid_ = true;
  }
  if (gop_valid_ && gop_bytes_ + bytes.size() > kMaxGopBytes) {
    gop_.clear();  // too long a GOP to hold: viewers wait for the next keyframe
    gop_valid_ = false;
  }
  if (gop_valid_) {
    gop_.push_back(packet);
    gop_bytes_ += bytes.size();
  }
  shared_->remember(packet);
  // The packets of one frame leave together (the payloader hands them over
  // back to back), each viewer's in a run the engine can send in one go.
  frame_.push_back({packet, keyframe});
  frame_timestamp_ = timestamp;
  if ((bytes[1] & 0x80) || frame_.size() >= kMaxFramePackets) {
    distribute(frame_, true);
    frame_.clear();
  }
}

// Viewer by viewer, each one's packets of `packets` in order, numbered in
// its own sequence.
void EgressRendition::distribute(const std::vector<Prepared>& packets, bool video) {
  std::vector<EgressEngine::Send> out;
  Snapshot subscribers = snapshot();
  out.reserve(subscribers->size() * packets.size());
  auto addressed = [video](Subscriber& s, const EgressEngine::Packet& p, uint16_t seq) {
    if (video && !s.offset_known) {
      s.video_seq_offset = static_cast<uint16_t>(seq - (((*p)[2] << 8) | (*p)[3]));
      s.offset_known = true;
    }
    // Counted for the sender reports (one thread writes each counter);
    // audio from when the viewer's video began (before, the engine may still
    // drop it: DTLS is not up).
    if (!video && s.video_pt >= 0 && !s.started.load(std::memory_order_relaxed))
      return EgressEngine::Send{s.viewer, p,           true, static_cast<uint8_t>(s.audio_pt),
                                seq,      s.audio_ssrc};
    auto& packets = video ? s.video_packets : s.audio_packets;
    auto& octets = video ? s.video_octets : s.audio_octets;
    packets.store(packets.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    octets.store(
        octets.load(std::memory_order_relaxed) +
            static_cast<uint32_t>(p->size() - SrtpSender::headerLength(p->data(), p->size())),
        std::memory_order_relaxed);
    return EgressEngine::Send{s.viewer, p,
                              true,     static_cast<uint8_t>(video ? s.video_pt : s.audio_pt),
                              seq,      video ? s.video_ssrc : s.audio_ssrc};
  };
  for (const auto& s : *subscribers) {
    int pt = video ? s->video_pt : s->audio_pt;
    if (pt < 0)
      continue;
    size_t first = 0;
    if (video && !s->started) {
      // Only once the viewer can receive: before its DTLS is up the engine
      // drops what it is given.
      if (engine_.state(s->viewer) != EgressEngine::ViewerState::Connected)
        continue;
      if (gop_valid_ && !gop_.empty()) {
        // The cached GOP ends with this very frame.
        for (const auto& cached : gop_)
          out.push_back(addressed(*s, cached, s->video_seq++));
        s->started = true;
        continue;
      }
      while (first < packets.size() && !packets[first].keyframe)
        ++first;
      if (first == packets.size())
        continue;
      s->started = true;
    }
    for (size_t i = first; i < packets.size(); ++i) {
      uint16_t seq = video ? s->video_seq++ : s->audio_seq++;
      out.push_back(addressed(*s, packets[i].packet, seq));
    }
  }
  engine_.send(std::move(out));
}

}  // namespace jobcast::media::egress
