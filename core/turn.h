#pragma once
// Time-limited TURN credentials in coturn's use-auth-secret ("TURN REST API")
// form: the node and the TURN server share one secret; the username is
// "EXPIRY:NAME" (EXPIRY in Unix seconds) and the password is
// base64(HMAC-SHA1(secret, username)). The TURN server checks the HMAC and
// refuses the username once EXPIRY has passed. Pure functions.

#include <cstdint>
#include <string>
#include <string_view>

namespace jobcast {

struct TurnCredential {
  std::string username;
  std::string password;
  int64_t expires_at = 0;  // Unix seconds
};

TurnCredential turnCredential(std::string_view secret, std::string_view name, int64_t expires_at);

}  // namespace jobcast
