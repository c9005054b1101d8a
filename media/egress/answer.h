#pragma once
// The SDP side of the egress engine: what it needs from a viewer's offer
// (m-line mids, the DTLS fingerprint) and the ICE-lite answer it gives
// (bundle, rtcp-mux, a=setup:passive, a host candidate on the engine's
// socket for each address the node is reached at). Codec choice stays with ViewerOffer
// (media/whep_session.h).

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace jobcast::media::egress {

struct OfferTransport {
  std::vector<std::string> mids;  // in m-line order ("" when a line has none)
  std::string fingerprint;        // the sha-256 value, "AB:CD:..."
};

// Errors: "bad_sdp" (no m-line), "unsupported_dtls" (no sha-256 fingerprint).
Result<OfferTransport> readOfferTransport(const std::string& sdp);

struct AnswerMedia {
  std::string kind;  // "video" or "audio"
  std::string mid;
  int payload = 0;
  std::string rtpmap;  // "H264/90000", "opus/48000/2"
  std::string fmtp;    // without the payload number
  uint32_t ssrc = 0;
  // Video: RTX (RFC 4588) for retransmissions, when the offer has it; -1: none.
  int rtx_payload = -1;
  uint32_t rtx_ssrc = 0;
};

struct AnswerTransport {
  std::string ufrag;
  std::string pwd;
  std::string fingerprint;  // ours
  // The candidates' IPs, best first (each gets a lower priority than the one
  // before it).
  std::vector<std::string> addresses;
  uint16_t port = 0;
  std::string cname;
};

std::string buildAnswer(const std::vector<AnswerMedia>& media, const AnswerTransport& transport);

// Random ICE credentials: a 8-character ufrag and a 24-character pwd.
std::string randomToken(size_t length);

}  // namespace jobcast::media::egress
