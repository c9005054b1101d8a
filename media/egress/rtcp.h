#pragma once
// What a viewer tells us in RTCP (RFC 3550, RFC 4585, RFC 5104): a compound
// packet, already SRTCP-unprotected, read into the few things the engine
// acts on. Sender reports, SDES, REMB, transport-wide feedback and anything
// unknown are skipped by their length. Pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace jobcast::media::egress::rtcp {

struct ReportBlock {
  uint32_t ssrc = 0;          // the media stream it reports on (ours)
  uint8_t fraction_lost = 0;  // of 256, since the previous report
  int32_t cumulative_lost = 0;
  uint32_t highest_seq = 0;  // extended
};

struct Nack {
  uint32_t media_ssrc = 0;
  std::vector<uint16_t> seqs;  // every sequence number asked for (PID + BLP)
};

struct Feedback {
  std::vector<ReportBlock> reports;      // from RR and SR
  std::vector<Nack> nacks;               // RTPFB FMT 1
  std::vector<uint32_t> keyframe_ssrcs;  // PSFB PLI (FMT 1) and FIR (FMT 4) media SSRCs
  bool bye = false;
};

// True when an SRTP/SRTCP datagram (first byte 128-191) is RTCP: packet type
// 192-223 (RFC 5761, section 4).
bool isRtcp(const uint8_t* data, size_t size);

// Reads a compound packet; nullopt if its first header or lengths are broken
// (what was read before a broken packet inside it is kept).
std::optional<Feedback> parse(const uint8_t* data, size_t size);

}  // namespace jobcast::media::egress::rtcp
