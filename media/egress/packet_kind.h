#pragma once
// What a datagram on the engine's one UDP socket carries, by its first byte
// (RFC 7983, section 7): STUN 0-3, DTLS 20-63, RTP/RTCP (SRTP) 128-191.

#include <cstddef>
#include <cstdint>

namespace jobcast::media::egress {

enum class PacketKind { Stun, Dtls, Rtp, Unknown };

inline PacketKind classify(const uint8_t* data, size_t size) {
  if (size == 0)
    return PacketKind::Unknown;
  uint8_t b = data[0];
  if (b <= 3)
    return PacketKind::Stun;
  if (b >= 20 && b <= 63)
    return PacketKind::Dtls;
  if (b >= 128 && b <= 191)
    return PacketKind::Rtp;
  return PacketKind::Unknown;
}

}  // namespace jobcast::media::egress
