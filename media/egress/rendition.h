#pragma once
// One room rendition (a ProgrammeFeed) served through the egress engine: the
// programme is payloaded once (rtph264pay, rtpopuspay) in a small pipeline
// fed by the feed like any viewer; each RTP packet is copied once out of its
// GstBuffer and shared by every viewer: the engine writes a viewer's payload
// type, sequence number and SSRC into the datagram it SRTP-protects and sends. A viewer whose DTLS
// is up starts with the packets since the latest keyframe (a GOP cache, sent at once, timestamps as
// they were), so its first picture does not wait for the next keyframe.
//
// Sender reports: each stream's RTP timestamps come from the programme's
// running time (the payloaders stamp from it, audio and video alike), so the
// rendition keeps, per stream, the last packet's RTP timestamp and running
// time, and a report maps "now" on the programme's clock to both the wall
// clock (NTP) and each stream's RTP clock: one timeline for audio and video,
// which is what a player needs to keep them in sync. The engine asks for a
// viewer's reports about once a second.
//
// RTCP from a viewer arrives on the engine's thread: a NACK is answered from
// the rendition's packet history (the last ~2 s of prepared video packets,
// one copy per rendition, not per viewer), rewritten for the viewer, as RTX
// (RFC 4588) when its offer had it, else as the packet again; at most
// kRetransmitsPerSecond per viewer, so a lossy viewer cannot take the
// engine from the others. A PLI or FIR becomes a keyframe request, which
// the owner merges per feed (WhepEgress's KeyframeGate).
//
// Threads: start/addViewer/removeViewer and the destructor run on the control
// thread; the appsink callbacks run on the packetizer's streaming threads and
// read a snapshot of the viewer list taken under a mutex.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/egress/engine.h"
#include "media/gst_refs.h"
#include "media/programme_feed.h"

namespace jobcast::media::egress {

class EgressRendition {
 public:
  // `request_keyframe` runs on the engine's thread for every PLI/FIR; it
  // must hand over to its own thread and merge there.
  static Result<std::unique_ptr<EgressRendition>> start(
      ProgrammeFeed& feed, EgressEngine& engine, std::function<void()> request_keyframe = nullptr);
  ~EgressRendition();
  EgressRendition(const EgressRendition&) = delete;
  EgressRendition& operator=(const EgressRendition&) = delete;

  struct Answered {
    uint64_t viewer = 0;  // the engine's id
    std::string answer;   // SDP
  };
  // Answers a WHEP offer: codecs as ViewerOffer chooses them, ICE-lite
  // credentials and our certificate's fingerprint, a host candidate on the
  // engine's port at each of `addresses`. Errors as ViewerOffer::parse, plus
  // "unsupported_dtls".
  Result<Answered> addViewer(const std::string& offer, const std::vector<std::string>& addresses);
  void removeViewer(uint64_t viewer);
  size_t viewerCount() const;
  uint64_t packetsPrepared() const { return packets_prepared_; }

  struct RtcpStats {
    uint64_t nacked = 0;             // sequence numbers asked for
    uint64_t retransmitted = 0;      // answered (as RTX or the packet again)
    uint64_t rtx = 0;                // of which as RTX
    uint64_t not_in_history = 0;     // too old, or never prepared
    uint64_t rate_limited = 0;       // over a viewer's retransmission budget
    uint64_t keyframe_requests = 0;  // PLI and FIR
  };
  RtcpStats rtcpStats() const;

 private:
  struct Subscriber {
    uint64_t viewer = 0;
    int video_pt = -1;
    int audio_pt = -1;
    uint32_t video_ssrc = 0;
    uint32_t audio_ssrc = 0;
    // Streaming threads: video fields by the video thread, audio by the audio one.
    std::atomic<bool> started{false};  // video began (the audio thread reads it)
    uint16_t video_seq = 0;
    uint16_t audio_seq = 0;
    // The viewer's video sequence number minus the prepared packet's: fixed
    // once started (the viewer gets every prepared packet from there on).
    std::atomic<uint32_t> video_seq_offset{0};
    std::atomic<bool> offset_known{false};
    // RTX and the retransmission budget: engine thread only.
    int rtx_pt = -1;
    uint32_t rtx_ssrc = 0;
    uint16_t rtx_seq = 0;
    double budget = 0;
    std::chrono::steady_clock::time_point budget_at{};
    // What was sent, for sender reports: written by the streaming thread of
    // the stream, read by the engine's.
    std::atomic<uint32_t> video_packets{0}, video_octets{0};
    std::atomic<uint32_t> audio_packets{0}, audio_octets{0};
  };
  // What the engine's RTCP callbacks use: kept alive by them, so a viewer's
  // feedback that races the rendition's end touches nothing freed.
  struct Shared {
    EgressEngine* engine = nullptr;
    std::function<void()> request_keyframe;
    // Prepared video packets by sequence number (video streaming thread
    // writes, engine thread reads).
    struct Entry {
      std::chrono::steady_clock::time_point at{};
      EgressEngine::Packet packet;
    };
    std::mutex history_mutex;
    std::vector<Entry> history;
    std::atomic<uint64_t> nacked{0}, retransmitted{0}, rtx{0}, not_in_history{0}, rate_limited{0},
        keyframe_requests{0};
    // Each stream's RTP clock against the programme's running time, from
    // its latest packet (written by its streaming thread, read by the
    // engine's).
    struct Timeline {
      std::mutex mutex;
      bool known = false;
      uint32_t rtp_timestamp = 0;
      GstClockTime running_time = 0;
    };
    Timeline video_timeline, audio_timeline;
    ClockPtr clock;  // the programme's
    GstClockTime base_time = 0;
    std::string cname;
    void remember(EgressEngine::Packet packet);
    void onRtcp(uint64_t viewer, Subscriber& s, const rtcp::Feedback& feedback);
    std::vector<uint8_t> reports(const Subscriber& s);
  };
  using Snapshot = std::shared_ptr<const std::vector<std::shared_ptr<Subscriber>>>;

  EgressRendition(ProgrammeFeed& feed, EgressEngine& engine);
  Result<bool> build();
  static GstFlowReturn onVideo(GstAppSink* sink, gpointer self);
  static GstFlowReturn onAudio(GstAppSink* sink, gpointer self);
  struct Prepared {
    EgressEngine::Packet packet;
    bool keyframe = false;  // begins one
  };
  void fanOut(GstAppSink* sink, bool video);
  void distribute(const std::vector<Prepared>& packets, bool video);
  Snapshot snapshot() const;

  ProgrammeFeed& feed_;
  EgressEngine& engine_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  ElementPtr pipeline_;
  std::shared_ptr<ProgrammeFeed::Viewer> tap_;
  mutable std::mutex mutex_;
  Snapshot subscribers_;
  std::atomic<uint64_t> packets_prepared_{0};
  // The video packets since the latest keyframe (video streaming thread
  // only): a viewer whose DTLS is up starts with them instead of waiting for
  // the next keyframe.
  std::vector<EgressEngine::Packet> gop_;
  size_t gop_bytes_ = 0;
  uint32_t gop_timestamp_ = 0;
  bool gop_valid_ = false;
  // The current video frame's packets, until its last (video streaming
  // thread only).
  std::vector<Prepared> frame_;
  uint32_t frame_timestamp_ = 0;
};

// True when an H.264 RTP payload (RFC 6184) begins a keyframe: SPS, or an
// IDR slice, alone, in a STAP-A, or the start of a FU-A.
bool beginsKeyframe(const uint8_t* payload, size_t size);

// Prepared video packets a rendition keeps for NACKs (a power of two, ~2 s
// at 8 Mbit/s), how old one may be to be sent again, and each viewer's
// retransmission budget (packets per second, also the burst).
constexpr size_t kHistoryPackets = 2048;
constexpr std::chrono::milliseconds kHistoryAge{2000};
constexpr double kRetransmitsPerSecond = 300;

}  // namespace jobcast::media::egress
