#pragma once
// Protection of outgoing RTP on OpenSSL (AES-NI): the engine's hot path.
//
// libsrtp as Debian builds it runs its ciphers on NSS, which sets a cipher
// context up for every packet it protects (PK11_Encrypt); at 200 viewers that
// was a quarter of the engine's CPU. SrtpSender derives the same session keys
// (RFC 3711 4.3, RFC 7714 11) and writes the same bytes as libsrtp would
// (tests compare the two packet for packet), with one keyed OpenSSL context
// per viewer reused for every packet. SrtcpSender does the same for our
// RTCP (sender reports): a libsrtp session per viewer for two packets a
// second was ~20 KB of NSS state per viewer. Sending only: everything a
// viewer sends us stays on libsrtp (SrtpSession).
//
// Not thread-safe: one thread uses each (the viewer's sender thread for RTP,
// the engine's for RTCP).

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"
#include "media/egress/srtp.h"

namespace jobcast::media::egress {

// One direction's SRTP or SRTCP session keys in OpenSSL contexts, keyed
// once: AES-128-GCM, or AES-128-CTR and HMAC-SHA1; and the session salt.
struct SrtpContexts {
  SrtpContexts() = default;
  ~SrtpContexts();
  SrtpContexts(const SrtpContexts&) = delete;
  SrtpContexts& operator=(const SrtpContexts&) = delete;
  // Derives the RTP (labels 0-2) or RTCP (3-5) session keys from the master
  // key and salt; false if their length is not the profile's or OpenSSL
  // refuses.
  bool key(SrtpProfile profile, const std::vector<uint8_t>& key_salt, bool rtcp);

  SrtpProfile profile = SrtpProfile::AeadAes128Gcm;
  EVP_CIPHER_CTX* cipher = nullptr;
  EVP_MAC_CTX* mac = nullptr;  // AES-CM profile only
  uint8_t salt[14] = {};       // 12 bytes (GCM) or 14
};

class SrtpSender {
 public:
  // `key_salt`: the master key followed by the master salt (keySaltLength).
  static Result<std::unique_ptr<SrtpSender>> create(SrtpProfile profile,
                                                    const std::vector<uint8_t>& key_salt);
  SrtpSender(const SrtpSender&) = delete;
  SrtpSender& operator=(const SrtpSender&) = delete;

  // Encrypts the RTP packet of `*size` bytes and appends its tag; `capacity`
  // must leave kSrtpMaxTrailer bytes after it. In place, or, with `source`,
  // the payload is read from the packet at `source` (only its header need
  // be in `packet` then): one pass over a shared packet instead of a copy
  // and a pass. A packet sent again (a retransmission) is protected again
  // under the same index. False for a packet that is not RTP, or a viewer
  // with more SSRCs than kMaxStreams.
  bool protect(uint8_t* packet, size_t* size, size_t capacity, const uint8_t* source = nullptr);

  // The length of an RTP packet's header (CSRCs and extension included), 0
  // when it is not one.
  static size_t headerLength(const uint8_t* packet, size_t size);

  static constexpr size_t kMaxStreams = 8;

 private:
  // One SSRC's rollover counter and highest sequence number (RFC 3711 3.3.1).
  struct Stream {
    uint32_t ssrc = 0;
    uint32_t roc = 0;
    uint16_t highest = 0;
  };
  SrtpSender() = default;
  // The packet's 48-bit index (ROC || SEQ), the stream's state moved on.
  uint64_t indexOf(uint32_t ssrc, uint16_t seq, bool* known);

  SrtpContexts keys_;
  Stream streams_[kMaxStreams];
  size_t stream_count_ = 0;
};

// Protection of outgoing RTCP (RFC 3711 3.4; RFC 7714 9 for GCM), the same
// bytes libsrtp writes: session keys from the RTCP labels, the SRTCP index
// counted from 1, its E flag set (every packet is encrypted).
class SrtcpSender {
 public:
  static Result<std::unique_ptr<SrtcpSender>> create(SrtpProfile profile,
                                                     const std::vector<uint8_t>& key_salt);
  SrtcpSender(const SrtcpSender&) = delete;
  SrtcpSender& operator=(const SrtcpSender&) = delete;

  // Encrypts the compound RTCP packet of `*size` bytes in place and appends
  // its index and tag; `capacity` must leave kSrtpMaxTrailer bytes after
  // it. False for what is not RTCP, or once the 31-bit index is used up.
  bool protect(uint8_t* packet, size_t* size, size_t capacity);

 private:
  SrtcpSender() = default;
  SrtpContexts keys_;
  uint32_t index_ = 0;  // of the last packet protected
};

}  // namespace jobcast::media::egress
