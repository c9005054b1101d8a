#pragma once
// A set of IP addresses and CIDR ranges (IPv4 and IPv6), e.g. the trusted
// proxies. IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1") match their IPv4 form.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jobcast {

class AddressSet {
 public:
  AddressSet() = default;
  // Each entry "ADDR" or "ADDR/BITS"; nullopt when one is not an address.
  static std::optional<AddressSet> parse(const std::vector<std::string>& entries);

  bool contains(const std::string& address) const;
  bool empty() const { return ranges_.empty(); }

  // The address in one canonical text form (mapped IPv4 as IPv4), or empty
  // when `text` is not an IP address.
  static std::string canonical(const std::string& text);
  // The key one client is limited by: an IPv4 address itself; an IPv6
  // address's /64 (one subscriber is handed a whole /64 and could otherwise
  // pick a fresh address per request). Other text is returned as it is.
  static std::string clientKey(const std::string& address);

 private:
  struct Range {
    std::array<uint8_t, 16> bytes{};  // IPv4 as its mapped IPv6 form
    int bits = 128;
  };
  std::vector<Range> ranges_;
};

}  // namespace jobcast
