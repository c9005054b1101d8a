#pragma once
// Who may publish into a room, and whether it is live: the one place WHIP asks.
// Until the rooms store is merged this reads the room hash straight from Redis
// (docs/redis-schema.md); swap RedisRoomGate for one backed by rooms/ then.

#include <functional>
#include <string>

#include "core/jwt.h"
#include "core/redis.h"
#include "core/result.h"
#include "rooms/access.h"

namespace jobcast {

struct RoomRecord {
  bool exists = false;
  std::string status;  // scheduled | live | ended
  std::string employer_id;
  rooms::Membership members;  // the room's employer and the people it lists
};

class RoomGate {
 public:
  virtual ~RoomGate() = default;
  // Calls back once, on the control thread.
  virtual void lookup(const std::string& room, std::function<void(Result<RoomRecord>)> cb) = 0;
};

class RedisRoomGate : public RoomGate {
 public:
  explicit RedisRoomGate(RedisClient& redis) : redis_(redis) {}
  void lookup(const std::string& room, std::function<void(Result<RoomRecord>)> cb) override;

 private:
  RedisClient& redis_;
};

// May these claims publish into this room as its main publisher? The access
// policy's Operation::PublishMain: the room's employer, a counsellor it lists,
// or an admin, with a token whose rooms claim names the room.
bool mayPublish(const Claims& claims, const std::string& room, const RoomRecord& record);

}  // namespace jobcast
