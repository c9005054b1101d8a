#pragma once
// The REST API of rooms, employers, job cards, profiles and applications
// (/api/v1/..., documented in docs/api.md). Handlers authenticate, rate-limit,
// decode JSON and call rooms::RoomStore; domain errors become HTTP statuses
// through the error catalogue (signaling/errors.h).

#include <memory>
#include <string>

#include "core/config.h"
#include "core/jwt.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "rooms/store.h"
#include "signaling/http.h"
#include "signaling/rate_limiter.h"

namespace jobcast {

// {"error":{"code","message"[,"field"]}} with the status the error catalogue
// (signaling/errors.h) gives its code.
http::Response errorResponse(const Error& error);

class RoomsApi {
 public:
  struct Options {
    RateLimiter::Options rate_limit;
    int64_t events_maxlen = rooms::kDefaultEventsMaxlen;  // redis.events_maxlen
    int64_t reminders_lead_s = 900;                       // reminders.lead_s
    int64_t reminders_sweep_ms = 5000;                    // reminders.sweep_ms; 0: no sweeps
    std::string public_url;  // the site's base URL for links in calendars and reminders
  };
  RoomsApi(http::Router& router, Loop& loop, RedisClient& redis, const Jwt& jwt, DataCipher cipher,
           Options options);

  // The store behind the API, for the WebSocket channel and the demo set-up.
  rooms::RoomStore& store() { return store_; }

 private:
  struct Context;
  using Authed = std::function<void(const http::Request&, const http::Responder&, const Claims&)>;
  using Open = std::function<void(const http::Request&, const http::Responder&,
                                  const std::optional<Claims>&)>;
  void routes(http::Router& router);
  // Rate-limits, then requires a valid token.
  http::Handler authed(Authed handler);
  // Rate-limits; a token is optional (but must be valid when sent).
  http::Handler open(Open handler);
  bool admit(const http::Request& request, const http::Responder& responder,
             const std::optional<Claims>& who);

  // The room page's URL: absolute under public_url, else the site path.
  std::string roomUrl(const std::string& room_id) const;

  const Jwt& jwt_;
  Options options_;
  rooms::RoomStore store_;
  RateLimiter limiter_;
  Timer reminders_;  // this node's passes over the reminder queue
};

// Builds the API from the node's config (data key, rate limits) and adds its
// routes to `router`. The returned object must outlive the router's use and the
// Redis client's pending callbacks.
Result<std::unique_ptr<RoomsApi>> registerRoomsApi(http::Router& router, Loop& loop,
                                                   RedisClient& redis, const Jwt& jwt,
                                                   const std::string& data_key_hex,
                                                   const Config& config);

}  // namespace jobcast
