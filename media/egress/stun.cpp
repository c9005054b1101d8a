#include "media/egress/stun.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <cstring>

#include "media/egress/bytes.h"

namespace jobcast::media::egress::stun {
namespace {

constexpr uint16_t kUsername = 0x0006;
constexpr uint16_t kMessageIntegrity = 0x0008;
constexpr uint16_t kXorMappedAddress = 0x0020;
constexpr uint16_t kPriority = 0x0024;
constexpr uint16_t kUseCandidate = 0x0025;
constexpr uint16_t kFingerprint = 0x8028;
constexpr uint16_t kIceControlling = 0x802A;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr size_t kHeader = 20;

// Builds a message attribute by attribute; the header's length follows.
class Writer {
 public:
  Writer(uint16_t type, const TransactionId& transaction) : bytes_(kHeader) {
    write16(&bytes_[0], type);
    write32(&bytes_[4], kMagicCookie);
    std::memcpy(&bytes_[8], transaction.data(), transaction.size());
  }
  uint8_t* add(uint16_t type, size_t length) {
    size_t at = bytes_.size();
    bytes_.resize(at + 4 + ((length + 3) & ~size_t{3}), 0);
    write16(&bytes_[at], type);
    write16(&bytes_[at + 2], static_cast<uint16_t>(length));
    setLength();
    return &bytes_[at + 4];
  }
  void addIntegrity(std::string_view password) {
    uint8_t* value = add(kMessageIntegrity, 20);
    unsigned int length = 20;
    size_t covered = static_cast<size_t>(value - 4 - bytes_.data());
    HMAC(EVP_sha1(), password.data(), static_cast<int>(password.size()), bytes_.data(), covered,
         value, &length);
  }
  void addFingerprint() {
    uint8_t* value = add(kFingerprint, 4);
    size_t covered = static_cast<size_t>(value - 4 - bytes_.data());
    write32(value, fingerprint(bytes_.data(), covered));
  }
  std::vector<uint8_t> take() { return std::move(bytes_); }

 private:
  void setLength() { write16(&bytes_[2], static_cast<uint16_t>(bytes_.size() - kHeader)); }
  std::vector<uint8_t> bytes_;
};

}  // namespace

uint32_t fingerprint(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, data, static_cast<uInt>(size));
  return static_cast<uint32_t>(crc) ^ kFingerprintXor;
}

Result<Message> parse(const uint8_t* data, size_t size) {
  if (size < kHeader || (data[0] & 0xc0) != 0 || read32(data + 4) != kMagicCookie)
    return Error{"stun_malformed", "not a STUN message"};
  size_t length = read16(data + 2);
  if (length % 4 != 0 || kHeader + length != size)
    return Error{"stun_malformed", "STUN length does not match the datagram"};
  Message message;
  message.type = read16(data);
  std::memcpy(message.transaction.data(), data + 8, message.transaction.size());
  size_t pos = kHeader;
  while (pos < size) {
    if (size - pos < 4)
      return Error{"stun_malformed", "truncated attribute header"};
    uint16_t type = read16(data + pos);
    size_t attr_length = read16(data + pos + 2);
    const uint8_t* value = data + pos + 4;
    size_t padded = (attr_length + 3) & ~size_t{3};
    if (padded > size - pos - 4)
      return Error{"stun_malformed", "truncated attribute"};
    if (message.has_fingerprint)
      return Error{"stun_malformed", "attribute after FINGERPRINT"};
    switch (type) {
      case kUsername:
        message.username.assign(reinterpret_cast<const char*>(value), attr_length);
        break;
      case kPriority:
        if (attr_length == 4)
          message.priority = read32(value);
        break;
      case kUseCandidate:
        message.use_candidate = true;
        break;
      case kMessageIntegrity:
        if (attr_length != 20)
          return Error{"stun_malformed", "MESSAGE-INTEGRITY is not 20 bytes"};
        message.has_integrity = true;
        break;
      case kFingerprint:
        if (attr_length != 4)
          return Error{"stun_malformed", "FINGERPRINT is not 4 bytes"};
        if (read32(value) != fingerprint(data, pos))
          return Error{"stun_fingerprint", "FINGERPRINT does not match"};
        message.has_fingerprint = true;
        break;
      case kXorMappedAddress: {
        if (attr_length < 8)
          return Error{"stun_malformed", "short XOR-MAPPED-ADDRESS"};
        sockaddr_storage address{};
        uint16_t port = read16(value + 2) ^ static_cast<uint16_t>(kMagicCookie >> 16);
        if (value[1] == 0x01) {
          auto* in = reinterpret_cast<sockaddr_in*>(&address);
          in->sin_family = AF_INET;
          in->sin_port = htons(port);
          in->sin_addr.s_addr = htonl(read32(value + 4) ^ kMagicCookie);
        } else if (value[1] == 0x02 && attr_length >= 20) {
          auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
          in6->sin6_family = AF_INET6;
          in6->sin6_port = htons(port);
          uint8_t mask[16];
          write32(mask, kMagicCookie);
          std::memcpy(mask + 4, message.transaction.data(), 12);
          for (int i = 0; i < 16; ++i)
            in6->sin6_addr.s6_addr[i] = value[4 + i] ^ mask[i];
        } else {
          return Error{"stun_malformed", "unknown address family"};
        }
        message.xor_mapped = address;
        break;
      }
      default:
        break;  // comprehension-optional or unneeded here
    }
    pos += 4 + padded;
  }
  return message;
}

bool checkIntegrity(const uint8_t* data, size_t size, std::string_view password) {
  if (size < kHeader)
    return false;
  size_t pos = kHeader;
  while (pos + 4 <= size) {
    uint16_t type = read16(data + pos);
    size_t padded = (read16(data + pos + 2) + size_t{3}) & ~size_t{3};
    if (type == kMessageIntegrity) {
      if (pos + 24 > size)
        return false;
      // The length as it was when the sender computed the HMAC: up to and
      // including MESSAGE-INTEGRITY, whatever follows it (FINGERPRINT).
      std::vector<uint8_t> covered(data, data + pos);
      write16(&covered[2], static_cast<uint16_t>(pos + 24 - kHeader));
      uint8_t mac[20];
      unsigned int length = sizeof mac;
      if (!HMAC(EVP_sha1(), password.data(), static_cast<int>(password.size()), covered.data(),
                covered.size(), mac, &length)) {
        return false;
      }
      return CRYPTO_memcmp(mac, data + pos + 4, 20) == 0;
    }
    pos += 4 + padded;
  }
  return false;
}

std::string_view localUfrag(std::string_view username) {
  return username.substr(0, username.find(':'));
}

std::vector<uint8_t> bindingSuccess(const TransactionId& transaction, const sockaddr_storage& from,
                                    std::string_view password) {
  Writer writer(kBindingSuccess, transaction);
  if (from.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
    uint8_t* value = writer.add(kXorMappedAddress, 20);
    value[1] = 0x02;
    write16(value + 2, ntohs(in6->sin6_port) ^ static_cast<uint16_t>(kMagicCookie >> 16));
    uint8_t mask[16];
    write32(mask, kMagicCookie);
    std::memcpy(mask + 4, transaction.data(), 12);
    for (int i = 0; i < 16; ++i)
      value[4 + i] = in6->sin6_addr.s6_addr[i] ^ mask[i];
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    uint8_t* value = writer.add(kXorMappedAddress, 8);
    value[1] = 0x01;
    write16(value + 2, ntohs(in->sin_port) ^ static_cast<uint16_t>(kMagicCookie >> 16));
    write32(value + 4, ntohl(in->sin_addr.s_addr) ^ kMagicCookie);
  }
  writer.addIntegrity(password);
  writer.addFingerprint();
  return writer.take();
}

std::vector<uint8_t> bindingRequest(const TransactionId& transaction, std::string_view username,
                                    std::string_view password, bool use_candidate,
                                    uint32_t priority, uint64_t tie_breaker) {
  Writer writer(kBindingRequest, transaction);
  std::memcpy(writer.add(kUsername, username.size()), username.data(), username.size());
  write32(writer.add(kPriority, 4), priority);
  uint8_t* tie = writer.add(kIceControlling, 8);
  write32(tie, static_cast<uint32_t>(tie_breaker >> 32));
  write32(tie + 4, static_cast<uint32_t>(tie_breaker));
  if (use_candidate)
    writer.add(kUseCandidate, 0);
  writer.addIntegrity(password);
  writer.addFingerprint();
  return writer.take();
}

}  // namespace jobcast::media::egress::stun
