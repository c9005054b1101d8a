#pragma once
// Tokens for tests: signed with the secret every test node runs with.

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "core/jwt.h"

namespace jobcast::test {

// JOBCAST_JWT_SECRET of every Jobcastd the tests start (tests/support/jobcastd.cpp).
inline constexpr char kJwtSecret[] = "test-secret-0123456789abcdef-0123456789";

// A token for `sub` in `role`, acting in `rooms`, valid for ttl_s seconds from now.
inline std::string signToken(Role role, const std::string& sub, std::vector<std::string> rooms,
                             int64_t ttl_s = 3600) {
  Claims c;
  c.sub = sub;
  c.role = role;
  c.rooms = std::move(rooms);
  c.iat = static_cast<int64_t>(std::time(nullptr));
  c.exp = c.iat + ttl_s;
  return Jwt(kJwtSecret).sign(c);
}

}  // namespace jobcast::test
