#pragma once
// Demo sign-in, only on a node started with --demo: POST /api/v1/demo/token
// gives a short-lived jobseeker token for a new anonymous user, so the viewer
// page can apply, ask and chat without accounts. Never enabled in production.

#include <cstdint>

#include "core/jwt.h"
#include "signaling/http.h"

namespace jobcast::http {

// Body {"role": "jobseeker"} (the only role handed out) and an optional
// {"name"}; answers 201 {"token","sub","name","role","expires_at"}.
void addDemoTokenRoute(Router& router, const Jwt& jwt, int64_t ttl_seconds = 4 * 3600);

}  // namespace jobcast::http
