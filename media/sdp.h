#pragma once
// Checks on a publisher's SDP offer and edits of our answer. Pure functions.

#include <gst/sdp/sdp.h>

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace jobcast::media {

// The payload types we accept from an offer, one per m-line we will receive.
struct OfferedMedia {
  guint mline = 0;
  std::string kind;  // "video" or "audio"
  int payload = -1;  // the chosen payload type
  std::string fmtp;  // its a=fmtp parameters (for logs)
};

// Picks H.264 (packetization-mode 1; constrained baseline, then baseline, then
// main, then high) and Opus from an offer. Errors ("bad_sdp") name what is
// missing: the offer must send one H.264 video and one Opus audio stream.
Result<std::vector<OfferedMedia>> chooseOfferedMedia(const GstSDPMessage& offer);

// Adds, after each host candidate, the same candidate at `public_ip` (for a
// node behind 1:1 NAT). Returns the SDP text unchanged when public_ip is empty.
std::string addPublicAddress(const std::string& sdp, const std::string& public_ip);

}  // namespace jobcast::media
