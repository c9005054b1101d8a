#include "signaling/auth.h"

#include <chrono>

namespace jobcast::http {

Result<Claims> authenticate(const Request& request, const Jwt& jwt, int64_t now) {
  std::string token = request.bearerToken();
  if (token.empty())
    return Error{"unauthorized", "an access token is required (Authorization: Bearer ...)"};
  return jwt.verify(token, now);
}

int64_t epochSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace jobcast::http
