#include "core/address_set.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace jobcast {
namespace {

// Parses IPv4 or IPv6 text into 16 bytes (IPv4 as ::ffff:a.b.c.d). Returns the
// prefix length of the whole address (32 for IPv4, 128 for IPv6), or 0 on error.
int toBytes(const std::string& text, std::array<uint8_t, 16>& out) {
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out.fill(0);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return 32;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return 128;
  }
  return 0;
}

bool isMapped(const std::array<uint8_t, 16>& b) {
  for (int i = 0; i < 10; ++i) {
    if (b[i] != 0)
      return false;
  }
  return b[10] == 0xff && b[11] == 0xff;
}

}  // namespace

std::optional<AddressSet> AddressSet::parse(const std::vector<std::string>& entries) {
  AddressSet set;
  for (const auto& entry : entries) {
    Range range;
    auto slash = entry.find('/');
    int width = toBytes(entry.substr(0, slash), range.bytes);
    if (width == 0)
      return std::nullopt;
    int bits = width;
    if (slash != std::string::npos) {
      std::string text = entry.substr(slash + 1);
      char* end = nullptr;
      long v = std::strtol(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || v < 0 || v > width)
        return std::nullopt;
      bits = static_cast<int>(v);
    }
    // An IPv4 prefix covers the mapped form's first 96 bits too.
    range.bits = width == 32 ? bits + 96 : bits;
    set.ranges_.push_back(range);
  }
  return set;
}

bool AddressSet::contains(const std::string& address) const {
  std::array<uint8_t, 16> b;
  if (toBytes(address, b) == 0)
    return false;
  for (const auto& r : ranges_) {
    int full = r.bits / 8;
    int rest = r.bits % 8;
    if (std::memcmp(b.data(), r.bytes.data(), static_cast<size_t>(full)) != 0)
      continue;
    if (rest) {
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((b[full] & mask) != (r.bytes[full] & mask))
        continue;
    }
    return true;
  }
  return false;
}

std::string AddressSet::clientKey(const std::string& address) {
  std::array<uint8_t, 16> b;
  if (toBytes(address, b) != 128 || isMapped(b))
    return canonical(address).empty() ? address : canonical(address);
  std::fill(b.begin() + 8, b.end(), 0);
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  return std::string(buf) + "/64";
}

std::string AddressSet::canonical(const std::string& text) {
  std::array<uint8_t, 16> b;
  if (toBytes(text, b) == 0)
    return {};
  char buf[INET6_ADDRSTRLEN] = {0};
  if (isMapped(b)) {
    inet_ntop(AF_INET, b.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
  }
  return buf;
}

}  // namespace jobcast
