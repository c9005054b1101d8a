#pragma once
// Bearer tokens on HTTP requests -> Claims. Shared by every REST module.

#include <cstdint>

#include "core/jwt.h"
#include "core/result.h"
#include "signaling/http.h"

namespace jobcast::http {

// The claims of the request's "Authorization: Bearer" token, checked against
// `now` (seconds since the epoch). Errors: "unauthorized" (no token),
// "invalid_token", "token_expired" — all answered 401.
Result<Claims> authenticate(const Request& request, const Jwt& jwt, int64_t now);

// Seconds since the epoch, for token expiry.
int64_t epochSeconds();

}  // namespace jobcast::http
