#pragma once
// A room's figures, kept after it ends: unique signed-in viewers (a
// HyperLogLog fed by the live room's presence), the peak of concurrent
// viewers (kept by rooms/prelude.lua), applications and conversion.
// GET /api/v1/rooms/{id}/figures, for the room's employer and admins.

#include "core/jwt.h"
#include "core/redis.h"
#include "rooms/store.h"
#include "signaling/http.h"

namespace jobcast::backoffice {

class FiguresApi {
 public:
  FiguresApi(http::Router& router, RedisClient& redis, const Jwt& jwt, rooms::RoomStore& store);

 private:
  RedisClient& redis_;
  const Jwt& jwt_;
  rooms::RoomStore& store_;
};

}  // namespace jobcast::backoffice
