#pragma once
// Access tokens: JWT signed with HS256 (HMAC-SHA256), nothing else accepted.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace jobcast {

enum class Role { Admin, Employer, Counsellor, Captioner, Jobseeker };

std::optional<Role> parseRole(std::string_view name);
const char* roleName(Role role);

struct Claims {
  std::string sub;   // subject: the user id
  std::string name;  // display name (may be empty)
  Role role = Role::Jobseeker;
  std::vector<std::string> rooms;  // room ids this token acts in; "*" = all
  std::string employer;            // for employer staff: the employer they act for
  int64_t exp = 0;                 // expiry, seconds since the epoch
  int64_t iat = 0;

  bool allowsRoom(const std::string& room_id) const;
  // The employer this token acts for: `employer` claim, else `sub` for employers.
  std::string employerId() const;
};

class Jwt {
 public:
  explicit Jwt(std::string secret) : secret_(std::move(secret)) {}

  std::string sign(const Claims& claims) const;
  // Checks structure, algorithm (HS256 only), signature (constant time) and
  // expiry against `now` (seconds since the epoch). Errors: code "invalid_token"
  // or "token_expired", with a message that never echoes the token.
  Result<Claims> verify(std::string_view token, int64_t now) const;

 private:
  std::string secret_;
};

std::string base64UrlEncode(std::string_view data);
std::optional<std::string> base64UrlDecode(std::string_view text);

}  // namespace jobcast
