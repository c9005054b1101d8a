#pragma once
// STUN for an ICE-lite agent (RFC 8489, RFC 8445): parse and check a viewer's
// binding request (short-term credentials: MESSAGE-INTEGRITY keyed with our
// ice-pwd, FINGERPRINT), and build the success response carrying the address
// the request came from. Pure functions on bytes; any thread.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace jobcast::media::egress::stun {

constexpr uint32_t kMagicCookie = 0x2112A442;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kBindingIndication = 0x0011;

using TransactionId = std::array<uint8_t, 12>;

struct Message {
  uint16_t type = 0;
  TransactionId transaction{};
  std::string username;        // USERNAME, "<our ufrag>:<their ufrag>" in a check
  bool use_candidate = false;  // USE-CANDIDATE: the controlling side nominates
  bool has_integrity = false;
  bool has_fingerprint = false;
  uint32_t priority = 0;
  std::optional<sockaddr_storage> xor_mapped;  // XOR-MAPPED-ADDRESS, in responses
};

// A well-formed STUN message: header, magic cookie, attribute lengths, and a
// FINGERPRINT (when present) that matches. Errors: "stun_malformed",
// "stun_fingerprint".
Result<Message> parse(const uint8_t* data, size_t size);

// True when the MESSAGE-INTEGRITY of `data` is the HMAC-SHA1, keyed with
// `password`, of the message up to it (with the length as the header says it
// at that point, RFC 8489 section 14.5).
bool checkIntegrity(const uint8_t* data, size_t size, std::string_view password);

// The local ufrag of a check's USERNAME ("ours:theirs" -> "ours").
std::string_view localUfrag(std::string_view username);

// The binding success response to `transaction`: XOR-MAPPED-ADDRESS of
// `from`, MESSAGE-INTEGRITY keyed with `password`, FINGERPRINT.
std::vector<uint8_t> bindingSuccess(const TransactionId& transaction, const sockaddr_storage& from,
                                    std::string_view password);

// A binding request as a controlling ICE agent sends it (tests, load client).
std::vector<uint8_t> bindingRequest(const TransactionId& transaction, std::string_view username,
                                    std::string_view password, bool use_candidate,
                                    uint32_t priority = 0x6e7f1eff,
                                    uint64_t tie_breaker = 0x0102030405060708ULL);

// CRC-32 (ISO 3309) of the message up to FINGERPRINT, xor 0x5354554e.
uint32_t fingerprint(const uint8_t* data, size_t size);

}  // namespace jobcast::media::egress::stun
