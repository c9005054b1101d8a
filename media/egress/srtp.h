#pragma once
// SRTP with libsrtp2: one session per direction and viewer, keyed from the
// DTLS handshake. Not thread-safe: each session is used by one thread (the
// engine's). srtp_init runs once per process.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.h"

namespace jobcast::media::egress {

// In our order of preference (RFC 7714 GCM first, then RFC 3711's default).
enum class SrtpProfile { AeadAes128Gcm, AesCm128HmacSha1_80 };

const char* profileName(SrtpProfile profile);
// Key plus salt length of a profile: 28 (GCM) or 30 (AES-CM).
size_t keySaltLength(SrtpProfile profile);
// Bytes SRTP adds to an RTP packet at most (the tag).
constexpr size_t kSrtpMaxTrailer = 144;

class SrtpSession {
 public:
  enum class Direction { Outbound, Inbound };
  // `key_salt`: the master key followed by the master salt.
  static Result<std::unique_ptr<SrtpSession>> create(SrtpProfile profile, Direction direction,
                                                     const std::vector<uint8_t>& key_salt);
  ~SrtpSession();
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;

  // Encrypts the RTP packet of `*size` bytes in place; `capacity` must leave
  // kSrtpMaxTrailer bytes after it. False if libsrtp refuses.
  bool protectRtp(uint8_t* packet, size_t* size, size_t capacity);
  bool unprotectRtp(uint8_t* packet, size_t* size);
  bool protectRtcp(uint8_t* packet, size_t* size, size_t capacity);
  bool unprotectRtcp(uint8_t* packet, size_t* size);

 private:
  struct Impl;
  explicit SrtpSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobcast::media::egress
