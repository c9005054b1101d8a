#pragma once
// One room rendition (a ProgrammeFeed) served through the egress engine: the
// programme is payloaded once (rtph264pay, rtpopuspay) in a small pipeline
// fed by the feed like any viewer; each RTP packet is then copied per viewer
// with only payload type, sequence number and SSRC rewritten, and handed to
// the engine, which SRTP-protects and sends it. A viewer whose DTLS is up
// starts with the packets since the latest keyframe (a GOP cache, sent at
// once, timestamps as they were), so its first picture does not wait for
// the next keyframe.
//
// Threads: start/addViewer/removeViewer and the destructor run on the control
// thread; the appsink callbacks run on the packetizer's streaming threads and
// read a snapshot of the viewer list taken under a mutex.

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <atomic>
#include <cstdint>
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
  static Result<std::unique_ptr<EgressRendition>> start(ProgrammeFeed& feed, EgressEngine& engine);
  ~EgressRendition();
  EgressRendition(const EgressRendition&) = delete;
  EgressRendition& operator=(const EgressRendition&) = delete;

  struct Answered {
    uint64_t viewer = 0;  // the engine's id
    std::string answer;   // SDP
  };
  // Answers a WHEP offer: codecs as ViewerOffer chooses them, ICE-lite
  // credentials and our certificate's fingerprint, one host candidate at
  // `address` on the engine's port. Errors as ViewerOffer::parse, plus
  // "unsupported_dtls".
  Result<Answered> addViewer(const std::string& offer, const std::string& address);
  void removeViewer(uint64_t viewer);
  size_t viewerCount() const;
  uint64_t packetsPrepared() const { return packets_prepared_; }

 private:
  struct Subscriber {
    uint64_t viewer = 0;
    int video_pt = -1;
    int audio_pt = -1;
    uint32_t video_ssrc = 0;
    uint32_t audio_ssrc = 0;
    // Streaming threads: video fields by the video thread, audio by the audio one.
    bool started = false;
    uint16_t video_seq = 0;
    uint16_t audio_seq = 0;
  };
  using Snapshot = std::shared_ptr<const std::vector<std::shared_ptr<Subscriber>>>;

  EgressRendition(ProgrammeFeed& feed, EgressEngine& engine);
  Result<bool> build();
  static GstFlowReturn onVideo(GstAppSink* sink, gpointer self);
  static GstFlowReturn onAudio(GstAppSink* sink, gpointer self);
  void fanOut(GstAppSink* sink, bool video);
  Snapshot snapshot() const;

  ProgrammeFeed& feed_;
  EgressEngine& engine_;
  ElementPtr pipeline_;
  std::shared_ptr<ProgrammeFeed::Viewer> tap_;
  mutable std::mutex mutex_;
  Snapshot subscribers_;
  std::atomic<uint64_t> packets_prepared_{0};
  // The video packets since the latest keyframe (video streaming thread
  // only): a viewer whose DTLS is up starts with them instead of waiting for
  // the next keyframe.
  std::vector<std::vector<uint8_t>> gop_;
  size_t gop_bytes_ = 0;
  uint32_t gop_timestamp_ = 0;
  bool gop_valid_ = false;
};

// True when an H.264 RTP payload (RFC 6184) begins a keyframe: SPS, or an
// IDR slice, alone, in a STAP-A, or the start of a FU-A.
bool beginsKeyframe(const uint8_t* payload, size_t size);

}  // namespace jobcast::media::egress
