#pragma once
// The stage over REST, for the studio and console pages:
//   GET    /api/v1/rooms/{room}/stage          who is on stage (anyone)
//   PUT    /api/v1/rooms/{room}/stage/{sub}    {"slot":"main|guest|interpreter","name":"..."}
//   DELETE /api/v1/rooms/{room}/stage/{sub}    takes them off
// Changes need a token of the room's employer, a counsellor or an admin; each
// answers with the new stage and the id of its stage.changed event.
// Handlers run on the control thread.

#include "core/jwt.h"
#include "core/redis.h"
#include "rooms/stage.h"
#include "signaling/http.h"

namespace jobcast::http {

class StageApi {
 public:
  StageApi(Router& router, RedisClient& redis, const Jwt& jwt,
           int64_t events_maxlen = rooms::kDefaultEventsMaxlen);

 private:
  Result<Claims> authorize(const Request& req) const;
  rooms::StageStore store_;
  const Jwt& jwt_;
};

}  // namespace jobcast::http
