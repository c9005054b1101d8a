#include "media/egress/srtp.h"

#include <srtp2/srtp.h>

#include <mutex>

namespace jobcast::media::egress {

const char* profileName(SrtpProfile profile) {
  return profile == SrtpProfile::AeadAes128Gcm ? "SRTP_AEAD_AES_128_GCM" : "SRTP_AES128_CM_SHA1_80";
}

size_t keySaltLength(SrtpProfile profile) {
  return profile == SrtpProfile::AeadAes128Gcm ? 16 + 12 : 16 + 14;
}

struct SrtpSession::Impl {
  srtp_t session = nullptr;
  ~Impl() {
    if (session)
      srtp_dealloc(session);
  }
};

SrtpSession::SrtpSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SrtpSession::~SrtpSession() = default;

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(SrtpProfile profile, Direction direction,
                                                         const std::vector<uint8_t>& key_salt) {
  // GStreamer's srtp elements share libsrtp's global state in this process
  // and may have initialised it already, in which case srtp_init reports a
  // failure: srtp_create below says whether libsrtp is usable.
  static std::once_flag once;
  std::call_once(once, [] { srtp_init(); });
  if (key_salt.size() != keySaltLength(profile))
    return Error{"srtp_failed", "key and salt have the wrong length for the profile"};
  srtp_policy_t policy{};
  if (profile == SrtpProfile::AeadAes128Gcm) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
  }
  policy.ssrc.type = direction == Direction::Outbound ? ssrc_any_outbound : ssrc_any_inbound;
  // libsrtp reads the key through a non-const pointer but does not write it.
  std::vector<uint8_t> key = key_salt;
  policy.key = key.data();
  policy.window_size = 1024;
  policy.allow_repeat_tx = 1;  // retransmissions (NACK) resend a sequence number
  auto impl = std::make_unique<Impl>();
  if (srtp_create(&impl->session, &policy) != srtp_err_status_ok)
    return Error{"srtp_failed", "libsrtp refused the policy"};
  return std::unique_ptr<SrtpSession>(new SrtpSession(std::move(impl)));
}

bool SrtpSession::protectRtp(uint8_t* packet, size_t* size, size_t capacity) {
  if (capacity < *size + kSrtpMaxTrailer)
    return false;
  int length = static_cast<int>(*size);
  if (srtp_protect(impl_->session, packet, &length) != srtp_err_status_ok)
    return false;
  *size = static_cast<size_t>(length);
  return true;
}

bool SrtpSession::unprotectRtp(uint8_t* packet, size_t* size) {
  int length = static_cast<int>(*size);
  if (srtp_unprotect(impl_->session, packet, &length) != srtp_err_status_ok)
    return false;
  *size = static_cast<size_t>(length);
  return true;
}

bool SrtpSession::protectRtcp(uint8_t* packet, size_t* size, size_t capacity) {
  if (capacity < *size + kSrtpMaxTrailer)
    return false;
  int length = static_cast<int>(*size);
  if (srtp_protect_rtcp(impl_->session, packet, &length) != srtp_err_status_ok)
    return false;
  *size = static_cast<size_t>(length);
  return true;
}

bool SrtpSession::unprotectRtcp(uint8_t* packet, size_t* size) {
  int length = static_cast<int>(*size);
  if (srtp_unprotect_rtcp(impl_->session, packet, &length) != srtp_err_status_ok)
    return false;
  *size = static_cast<size_t>(length);
  return true;
}

}  // namespace jobcast::media::egress
