#pragma once
// The room-event contract in Redis, one owner: every room script runs with
// rooms/prelude.lua in front (key suffixes, emit, fail), so every event is
// appended to the room's stream and published on its notify channel the same
// way, atomically (docs/redis-schema.md). Keys come from rooms/keys.h.
// Control thread only.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/redis.h"
#include "core/result.h"

namespace jobcast::rooms {

// The room stream's bound (XADD MAXLEN ~) unless the config says otherwise
// (redis.events_maxlen).
inline constexpr int64_t kDefaultEventsMaxlen = 10000;

// A room's Lua script: the prelude prepended to the script's body, loaded once
// (SCRIPT LOAD / EVALSHA).
class RoomScript {
 public:
  explicit RoomScript(std::string_view body);
  // `args` are the script's own; the stream's bound and the notify command go
  // in front of them (the prelude takes them off).
  void run(RedisClient& redis, int64_t events_maxlen, const std::vector<std::string>& keys,
           const std::vector<std::string>& args, RedisClient::Callback cb) const;

 private:
  RedisScript script_;
};

// Appends an event that changes no other key (`data` is JSON text; `aud` is
// "all", "staff" or "user:SUB") and publishes it, in one script. `done` gets
// the entry id, or an error.
void appendEvent(RedisClient& redis, int64_t events_maxlen, const std::string& room,
                 const std::string& kind, const std::string& data, const std::string& aud,
                 std::function<void(Result<std::string>)> done);

}  // namespace jobcast::rooms
