#pragma once
// The room's stage: who is on it (the employer as main, up to two guests such
// as a counsellor, and a sign-language interpreter) and so which programme the
// media pipeline builds. Room state in Redis (keys::stage, rooms/keys.h): this
// module owns that key. Changed only by the room's employer or a counsellor
// (or an admin) through rooms/stage.lua, which works out the layout and
// appends a stage.changed event to the room's event stream.
// Control thread only.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/jwt.h"
#include "core/redis.h"
#include "core/result.h"
#include "rooms/events.h"
#include "rooms/stage_slot.h"

namespace jobcast::rooms {

// What the programme is: nobody on stage, the main publisher passed through,
// or the composite (main with guests as PiP tiles). The interpreter variant is
// separate: it exists exactly while an interpreter is on stage. rooms/stage.lua
// decides it with each change; it is stored with the stage.
enum class StageLayout { Empty, Passthrough, Composite };

std::optional<StageLayout> parseStageLayout(const std::string& name);
const char* stageLayoutName(StageLayout layout);

struct StageMember {
  std::string sub;
  std::string name;
};

struct Stage {
  int64_t version = 0;
  std::optional<StageMember> main;
  std::vector<StageMember> guests;  // at most two
  std::optional<StageMember> interpreter;
  StageLayout layout = StageLayout::Empty;  // as rooms/stage.lua stored it

  bool interpreterVariant() const { return interpreter.has_value(); }
  static Result<Stage> fromJson(const nlohmann::json& json);
  nlohmann::json toJson() const;
};

struct StageChange {
  std::string event_id;  // the stage.changed entry in the room's event stream
  Stage stage;
};

class StageStore {
 public:
  using ChangeCallback = std::function<void(Result<StageChange>)>;
  // events_maxlen bounds the room's event stream (redis.events_maxlen).
  explicit StageStore(RedisClient& redis, int64_t events_maxlen = kDefaultEventsMaxlen);

  // Puts `member` on `slot` (moving them if already on another slot).
  // Errors: invalid_field (sub or name not valid UTF-8 text), unauthorized,
  // forbidden, room_not_found, room_ended, stage_full, redis_unavailable.
  void put(const std::string& room, const Claims& actor, StageSlot slot, StageMember member,
           ChangeCallback done);
  // Takes `sub` off the stage. Errors as put, and not_on_stage.
  void remove(const std::string& room, const Claims& actor, const std::string& sub,
              ChangeCallback done);
  void get(const std::string& room, std::function<void(Result<Stage>)> done);

 private:
  void run(const std::string& room, const Claims& actor, std::vector<std::string> args,
           ChangeCallback done);
  RedisClient& redis_;
  int64_t events_maxlen_;
};

}  // namespace jobcast::rooms
