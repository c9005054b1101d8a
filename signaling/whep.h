#pragma once
// WHEP egress over HTTP: POST /whep/{room} (application/sdp offer, optional
// ?variant=interpreter) answers 201 with Location and the SDP answer (ICE
// candidates included, so no trickle: PATCH is 405 as the protocol allows);
// DELETE /whep/{room}/{session} ends it; OPTIONS advertises Accept-Post.
// A token is optional while the room lets anonymous viewers watch; the node's
// viewer cap answers 503 with Retry-After and the room's HLS address.
// Handlers run on the control thread; the answer comes back later from
// media::WhepEgress, also on the control thread.

#include <cstdint>
#include <optional>
#include <string>

#include "core/jwt.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/result.h"
#include "media/whep_egress.h"
#include "signaling/http.h"

namespace jobcast::http {

class WhepEndpoint {
 public:
  struct Options {
    int retry_after_seconds = 10;
  };

  // `redis` may be null (no room checks: tests of the media path alone).
  WhepEndpoint(Router& router, media::WhepEgress& egress, const Jwt& jwt, RedisClient* redis,
               Metrics& metrics, Options options);

  // The one table from WHEP error codes to HTTP statuses.

 private:
  void post(const Request& req, const Responder& r);
  void answer(const Request& req, const Responder& r, const std::string& owner);
  void remove(const Request& req, const Responder& r);
  // Refuses anyone but the session's owner (see whep.cpp); nullopt when allowed.
  std::optional<Error> ownerCheck(const Request& req) const;
  void fail(const Responder& r, const std::string& room, const Error& error) const;

  media::WhepEgress& egress_;
  const Jwt& jwt_;
  RedisClient* redis_;
  Metrics& metrics_;
  Options options_;
};

}  // namespace jobcast::http
