#pragma once
// What a viewer tells us in RTCP (RFC 3550, RFC 4585, RFC 5104): a compound
// packet, already SRTCP-unprotected, read into the few things the engine
// acts on. SDES, REMB, transport-wide feedback and anything unknown are
// skipped by their length. And what we tell viewers: sender reports, which
// tie each stream's RTP timestamps to one wall clock (a player needs them
// to keep lips and voice together) and say how much was sent. Pure
// functions; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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

// A sender report's sender info (RFC 3550, 6.4.1).
struct SenderInfo {
  uint32_t ssrc = 0;
  uint64_t ntp = 0;            // wall clock, NTP format: seconds since 1900 . 2^-32 s
  uint32_t rtp_timestamp = 0;  // the same instant on the stream's RTP clock
  uint32_t packets = 0;
  uint32_t octets = 0;  // of payload
};

struct Feedback {
  std::vector<ReportBlock> reports;      // from RR and SR
  std::vector<SenderInfo> senders;       // from SR
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

// A compound packet: one SR per stream (no report blocks: we receive no
// media), then one SDES with `cname` for each (RFC 3550 6.1 wants one in
// every compound packet). Empty when `streams` is.
std::vector<uint8_t> senderReports(const std::vector<SenderInfo>& streams,
                                   const std::string& cname);

// NTP format of a CLOCK_REALTIME time in nanoseconds since 1970.
uint64_t ntpFromUnixNanos(int64_t unix_ns);

}  // namespace jobcast::media::egress::rtcp
