#include "media/egress/srtp_sender.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <cstring>

namespace jobcast::media::egress {
namespace {

constexpr size_t kMasterKey = 16;
constexpr size_t kGcmTag = 16;
constexpr size_t kHmacTag = 10;  // HMAC-SHA1 truncated to 80 bits
constexpr uint8_t kLabelEncryption = 0x00;
constexpr uint8_t kLabelAuthentication = 0x01;
constexpr uint8_t kLabelSalt = 0x02;
constexpr uint8_t kLabelRtcpEncryption = 0x03;
constexpr uint8_t kLabelRtcpAuthentication = 0x04;
constexpr uint8_t kLabelRtcpSalt = 0x05;

// RFC 3711 4.3.3: the AES-CM PRF keyed with the master key, counter from the
// master salt (padded to 14 bytes) with the label in its eighth byte, key
// derivation rate 0. RFC 7714 11 uses it unchanged for the GCM profiles.
bool derive(const uint8_t* master_key, const uint8_t* master_salt, size_t salt_length,
            uint8_t label, uint8_t* out, size_t length) {
  uint8_t counter[16] = {};
  std::memcpy(counter, master_salt, salt_length);
  counter[7] ^= label;
  uint8_t zeros[32] = {};
  if (length > sizeof zeros)
    return false;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int written = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_128_ctr(), nullptr, master_key, counter) == 1 &&
            EVP_EncryptUpdate(ctx, out, &written, zeros, static_cast<int>(length)) == 1 &&
            written == static_cast<int>(length);
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

void put32(uint8_t* p, uint32_t value) {
  p[0] = static_cast<uint8_t>(value >> 24);
  p[1] = static_cast<uint8_t>(value >> 16);
  p[2] = static_cast<uint8_t>(value >> 8);
  p[3] = static_cast<uint8_t>(value);
}

}  // namespace

bool SrtpContexts::key(SrtpProfile chosen, const std::vector<uint8_t>& key_salt, bool rtcp) {
  profile = chosen;
  if (key_salt.size() != keySaltLength(profile))
    return false;
  const bool gcm = profile == SrtpProfile::AeadAes128Gcm;
  const uint8_t* master_key = key_salt.data();
  const uint8_t* master_salt = key_salt.data() + kMasterKey;
  const size_t salt_length = key_salt.size() - kMasterKey;
  uint8_t session_key[kMasterKey];
  uint8_t auth_key[20];
  bool ok = derive(master_key, master_salt, salt_length,
                   rtcp ? kLabelRtcpEncryption : kLabelEncryption, session_key, kMasterKey) &&
            derive(master_key, master_salt, salt_length, rtcp ? kLabelRtcpSalt : kLabelSalt, salt,
                   salt_length) &&
            (gcm || derive(master_key, master_salt, salt_length,
                           rtcp ? kLabelRtcpAuthentication : kLabelAuthentication, auth_key,
                           sizeof auth_key));
  cipher = EVP_CIPHER_CTX_new();
  ok = ok && cipher &&
       EVP_EncryptInit_ex(cipher, gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr(), nullptr, session_key,
                          nullptr) == 1;
  if (ok && !gcm) {
    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    mac = hmac ? EVP_MAC_CTX_new(hmac) : nullptr;
    EVP_MAC_free(hmac);
    char digest[] = "SHA1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    ok = mac && EVP_MAC_init(mac, auth_key, sizeof auth_key, params) == 1;
  }
  OPENSSL_cleanse(session_key, sizeof session_key);
  OPENSSL_cleanse(auth_key, sizeof auth_key);
  return ok;
}

SrtpContexts::~SrtpContexts() {
  EVP_CIPHER_CTX_free(cipher);
  EVP_MAC_CTX_free(mac);
  OPENSSL_cleanse(salt, sizeof salt);
}

Result<std::unique_ptr<SrtpSender>> SrtpSender::create(SrtpProfile profile,
                                                       const std::vector<uint8_t>& key_salt) {
  if (key_salt.size() != keySaltLength(profile))
    return Error{"srtp_failed", "key and salt have the wrong length for the profile"};
  std::unique_ptr<SrtpSender> sender(new SrtpSender());
  if (!sender->keys_.key(profile, key_salt, false))
    return Error{"srtp_failed", "OpenSSL could not key the SRTP sender"};
  return sender;
}

// RFC 3711 3.3.1 and appendix A: the rollover counter moves on when the
// sequence number wraps; a packet from before the wrap (a late
// retransmission) keeps the previous one.
uint64_t SrtpSender::indexOf(uint32_t ssrc, uint16_t seq, bool* known) {
  Stream* stream = nullptr;
  for (size_t i = 0; i < stream_count_; ++i) {
    if (streams_[i].ssrc == ssrc)
      stream = &streams_[i];
  }
  if (!stream) {
    if (stream_count_ == kMaxStreams) {
      *known = false;
      return 0;
    }
    stream = &streams_[stream_count_++];
    stream->ssrc = ssrc;
    stream->roc = 0;
    stream->highest = seq;
  }
  *known = true;
  uint32_t roc = stream->roc;
  if (stream->highest < 0x8000) {
    if (seq > stream->highest && seq - stream->highest > 0x8000 && roc > 0)
      --roc;
  } else if (stream->highest - 0x8000 > seq) {
    ++roc;
  }
  if (roc > stream->roc) {
    stream->roc = roc;
    stream->highest = seq;
  } else if (roc == stream->roc && seq > stream->highest) {
    stream->highest = seq;
  }
  return (static_cast<uint64_t>(roc) << 16) | seq;
}

size_t SrtpSender::headerLength(const uint8_t* packet, size_t size) {
  if (size < 12 || (packet[0] >> 6) != 2)
    return 0;
  size_t header = 12 + 4 * static_cast<size_t>(packet[0] & 0x0f);
  if (packet[0] & 0x10) {
    if (header + 4 > size)
      return 0;
    header += 4 + 4 * ((static_cast<size_t>(packet[header + 2]) << 8) | packet[header + 3]);
  }
  return header <= size ? header : 0;
}

bool SrtpSender::protect(uint8_t* packet, size_t* size, size_t capacity, const uint8_t* source) {
  const size_t length = *size;
  if (capacity < length + kSrtpMaxTrailer)
    return false;
  const size_t header = headerLength(packet, length);
  if (header == 0)
    return false;
  const uint16_t seq = static_cast<uint16_t>((packet[2] << 8) | packet[3]);
  const uint32_t ssrc = (static_cast<uint32_t>(packet[8]) << 24) |
                        (static_cast<uint32_t>(packet[9]) << 16) |
                        (static_cast<uint32_t>(packet[10]) << 8) | packet[11];
  bool known = false;
  const uint64_t index = indexOf(ssrc, seq, &known);
  if (!known)
    return false;
  const uint32_t roc = static_cast<uint32_t>(index >> 16);
  uint8_t* payload = packet + header;
  const uint8_t* plain = source ? source + header : payload;
  const int payload_length = static_cast<int>(length - header);
  int written = 0;

  if (keys_.profile == SrtpProfile::AeadAes128Gcm) {
    // RFC 7714 8.1: 00 00 || SSRC || ROC || SEQ, XOR the session salt.
    uint8_t iv[12] = {};
    put32(iv + 2, ssrc);
    put32(iv + 6, roc);
    iv[10] = packet[2];
    iv[11] = packet[3];
    for (size_t i = 0; i < sizeof iv; ++i)
      iv[i] ^= keys_.salt[i];
    // The header is the associated data; the payload is encrypted in place.
    if (EVP_EncryptInit_ex(keys_.cipher, nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_EncryptUpdate(keys_.cipher, nullptr, &written, packet, static_cast<int>(header)) != 1 ||
        EVP_EncryptUpdate(keys_.cipher, payload, &written, plain, payload_length) != 1 ||
        EVP_EncryptFinal_ex(keys_.cipher, payload + written, &written) != 1 ||
        EVP_CIPHER_CTX_ctrl(keys_.cipher, EVP_CTRL_GCM_GET_TAG, kGcmTag, packet + length) != 1)
      return false;
    *size = length + kGcmTag;
    return true;
  }

  // RFC 3711 4.1.1: counter = salt * 2^16 XOR SSRC * 2^64 XOR index * 2^16.
  uint8_t iv[16] = {};
  std::memcpy(iv, keys_.salt, 14);
  iv[4] ^= packet[8];
  iv[5] ^= packet[9];
  iv[6] ^= packet[10];
  iv[7] ^= packet[11];
  for (int i = 0; i < 6; ++i)
    iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
  if (EVP_EncryptInit_ex(keys_.cipher, nullptr, nullptr, nullptr, iv) != 1 ||
      EVP_EncryptUpdate(keys_.cipher, payload, &written, plain, payload_length) != 1)
    return false;
  // RFC 3711 4.2: HMAC-SHA1 over the packet and the ROC, 80 bits of it.
  uint8_t roc_bytes[4];
  put32(roc_bytes, roc);
  uint8_t tag[EVP_MAX_MD_SIZE];
  size_t tag_length = 0;
  if (EVP_MAC_init(keys_.mac, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(keys_.mac, packet, length) != 1 ||
      EVP_MAC_update(keys_.mac, roc_bytes, sizeof roc_bytes) != 1 ||
      EVP_MAC_final(keys_.mac, tag, &tag_length, sizeof tag) != 1 || tag_length < kHmacTag)
    return false;
  std::memcpy(packet + length, tag, kHmacTag);
  *size = length + kHmacTag;
  return true;
}

Result<std::unique_ptr<SrtcpSender>> SrtcpSender::create(SrtpProfile profile,
                                                         const std::vector<uint8_t>& key_salt) {
  if (key_salt.size() != keySaltLength(profile))
    return Error{"srtp_failed", "key and salt have the wrong length for the profile"};
  std::unique_ptr<SrtcpSender> sender(new SrtcpSender());
  if (!sender->keys_.key(profile, key_salt, true))
    return Error{"srtp_failed", "OpenSSL could not key the SRTCP sender"};
  return sender;
}

bool SrtcpSender::protect(uint8_t* packet, size_t* size, size_t capacity) {
  constexpr size_t kHeader = 8;  // V/P/count, type, length, sender SSRC: never encrypted
  const size_t length = *size;
  if (capacity < length + kSrtpMaxTrailer || length < kHeader || (packet[0] >> 6) != 2 ||
      packet[1] < 192 || packet[1] > 223 || index_ >= 0x7fffffff)
    return false;
  const uint32_t index = ++index_;
  uint8_t trailer[4];  // E (encrypted) and the 31-bit SRTCP index
  put32(trailer, 0x80000000u | index);
  uint8_t* payload = packet + kHeader;
  const int payload_length = static_cast<int>(length - kHeader);
  int written = 0;

  if (keys_.profile == SrtpProfile::AeadAes128Gcm) {
    // RFC 7714 9.1: 00 00 || SSRC || 00 00 || 0 || index, XOR the session
    // salt; the header and the trailer are the associated data; the tag
    // goes before the trailer.
    uint8_t iv[12] = {};
    std::memcpy(iv + 2, packet + 4, 4);
    put32(iv + 8, index);
    for (size_t i = 0; i < sizeof iv; ++i)
      iv[i] ^= keys_.salt[i];
    if (EVP_EncryptInit_ex(keys_.cipher, nullptr, nullptr, nullptr, iv) != 1 ||
        EVP_EncryptUpdate(keys_.cipher, nullptr, &written, packet, kHeader) != 1 ||
        EVP_EncryptUpdate(keys_.cipher, nullptr, &written, trailer, sizeof trailer) != 1 ||
        EVP_EncryptUpdate(keys_.cipher, payload, &written, payload, payload_length) != 1 ||
        EVP_EncryptFinal_ex(keys_.cipher, payload + written, &written) != 1 ||
        EVP_CIPHER_CTX_ctrl(keys_.cipher, EVP_CTRL_GCM_GET_TAG, kGcmTag, packet + length) != 1)
      return false;
    std::memcpy(packet + length + kGcmTag, trailer, sizeof trailer);
    *size = length + kGcmTag + sizeof trailer;
    return true;
  }

  // RFC 3711 4.1.1 with the SRTCP index: salt * 2^16 XOR SSRC * 2^64 XOR
  // index * 2^16; then HMAC-SHA1 over the packet and its trailer.
  uint8_t iv[16] = {};
  std::memcpy(iv, keys_.salt, 14);
  for (int i = 0; i < 4; ++i)
    iv[4 + i] ^= packet[4 + i];
  for (int i = 0; i < 4; ++i)
    iv[10 + i] ^= static_cast<uint8_t>(index >> (24 - 8 * i));
  if (EVP_EncryptInit_ex(keys_.cipher, nullptr, nullptr, nullptr, iv) != 1 ||
      EVP_EncryptUpdate(keys_.cipher, payload, &written, payload, payload_length) != 1)
    return false;
  std::memcpy(packet + length, trailer, sizeof trailer);
  uint8_t tag[EVP_MAX_MD_SIZE];
  size_t tag_length = 0;
  if (EVP_MAC_init(keys_.mac, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(keys_.mac, packet, length + sizeof trailer) != 1 ||
      EVP_MAC_final(keys_.mac, tag, &tag_length, sizeof tag) != 1 || tag_length < kHmacTag)
    return false;
  std::memcpy(packet + length + sizeof trailer, tag, kHmacTag);
  *size = length + sizeof trailer + kHmacTag;
  return true;
}

}  // namespace jobcast::media::egress
