#include "core/jwt.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <nlohmann/json.hpp>

namespace jobcast {
namespace {

const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string hmacSha256(const std::string& key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

Error invalid(const char* why) {
  return Error{"invalid_token", why};
}

}  // namespace

std::optional<Role> parseRole(std::string_view name) {
  if (name == "admin")
    return Role::Admin;
  if (name == "employer")
    return Role::Employer;
  if (name == "counsellor")
    return Role::Counsellor;
  if (name == "captioner")
    return Role::Captioner;
  if (name == "jobseeker")
    return Role::Jobseeker;
  return std::nullopt;
}

const char* roleName(Role role) {
  switch (role) {
    case Role::Admin:
      return "admin";
    case Role::Employer:
      return "employer";
    case Role::Counsellor:
      return "counsellor";
    case Role::Captioner:
      return "captioner";
    case Role::Jobseeker:
      return "jobseeker";
  }
  return "jobseeker";
}

bool Claims::allowsRoom(const std::string& room_id) const {
  for (const auto& r : rooms) {
    if (r == "*" || r == room_id)
      return true;
  }
  return false;
}

std::string Claims::employerId() const {
  if (!employer.empty())
    return employer;
  return role == Role::Employer ? sub : std::string();
}

std::string base64UrlEncode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out += kAlphabet[(n >> s) & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == data.size()) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '-') {
      v = 62;
    } else if (c == '_') {
      v = 63;
    } else {
      return std::nullopt;  // no padding, no standard alphabet, no spaces
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  // The bits left over must be zero, or several texts would decode to the
  // same bytes (and a token could be altered without touching its signature).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

std::string Jwt::sign(const Claims& claims) const {
  nlohmann::json payload = {{"sub", claims.sub},
                            {"role", roleName(claims.role)},
                            {"rooms", claims.rooms},
                            {"exp", claims.exp}};
  if (!claims.name.empty())
    payload["name"] = claims.name;
  if (!claims.employer.empty())
    payload["employer"] = claims.employer;
  if (claims.iat)
    payload["iat"] = claims.iat;
  if (claims.av)
    payload["av"] = claims.av;
  std::string signing_input =
      base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64UrlEncode(payload.dump());
  return signing_input + "." + base64UrlEncode(hmacSha256(secret_, signing_input));
}

Result<Claims> Jwt::verify(std::string_view token, int64_t now) const {
  if (token.size() > 8192)
    return invalid("token too long");
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos)
    return invalid("malformed token");
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return invalid("malformed token");
  }
  auto header_text = base64UrlDecode(token.substr(0, dot1));
  auto payload_text = base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto signature = base64UrlDecode(token.substr(dot2 + 1));
  if (!header_text || !payload_text || !signature)
    return invalid("malformed token");

  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  if (!header.is_object() || !header.contains("alg") || !header["alg"].is_string()) {
    return invalid("malformed token header");
  }
  if (header["alg"].get<std::string>() != "HS256")
    return invalid("unsupported algorithm");

  std::string expected = hmacSha256(secret_, token.substr(0, dot2));
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return invalid("bad signature");
  }

  auto payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (!payload.is_object())
    return invalid("malformed token payload");
  Claims c;
  auto str = [&](const char* key, std::string& out) {
    if (!payload.contains(key))
      return true;
    if (!payload[key].is_string())
      return false;
    out = payload[key].get<std::string>();
    return true;
  };
  std::string role;
  if (!str("sub", c.sub) || !str("name", c.name) || !str("role", role) ||
      !str("employer", c.employer)) {
    return invalid("malformed claims");
  }
  if (c.sub.empty())
    return invalid("token has no subject");
  auto parsed_role = parseRole(role);
  if (!parsed_role)
    return invalid("unknown role");
  c.role = *parsed_role;
  if (!payload.contains("exp") || !payload["exp"].is_number_integer()) {
    return invalid("token has no expiry");
  }
  c.exp = payload["exp"].get<int64_t>();
  int64_t nbf = 0;
  for (auto [key, out] :
       {std::pair<const char*, int64_t*>{"iat", &c.iat}, {"nbf", &nbf}, {"av", &c.av}}) {
    if (!payload.contains(key))
      continue;
    if (!payload[key].is_number_integer())
      return invalid("malformed time claim");
    *out = payload[key].get<int64_t>();
  }
  if (payload.contains("rooms")) {
    const auto& rooms = payload["rooms"];
    if (rooms.is_string()) {
      c.rooms.push_back(rooms.get<std::string>());
    } else if (rooms.is_array()) {
      for (const auto& r : rooms) {
        if (!r.is_string())
          return invalid("malformed rooms claim");
        c.rooms.push_back(r.get<std::string>());
      }
    } else {
      return invalid("malformed rooms claim");
    }
  }
  if (c.exp <= now)
    return Error{"token_expired", "token expired"};
  if (nbf > now + options_.clock_skew_s)
    return invalid("token not valid yet");
  if (c.iat > now + options_.clock_skew_s)
    return invalid("token issued in the future");
  // A stolen token is useful only so long; exp in the year 9999 is refused.
  int64_t lifetime = c.exp - (c.iat ? c.iat : now);
  if (lifetime > options_.max_lifetime_s || c.exp - now > options_.max_lifetime_s)
    return invalid("token lifetime over the maximum");
  if (revoked_) {
    if (auto refused = revoked_(c))
      return *refused;
  }
  return c;
}

}  // namespace jobcast
