// libFuzzer target: WebSocket client frames built from the schemas
// (tests/fuzz/wire_gen.h), through the path a frame takes in the server:
// decodeFrame (envelope + schema), decodeHello, and LiveRoom::perform's own
// argument checks and authorization for every role. Redis is a client that
// never connects, so each action ends at its script call with
// "redis_unavailable" instead of going over the network.
//
// Oracles: nothing throws (an exception aborts the run), an invalid_field
// error names a field of the schema, and every action is answered exactly once.

#include <cstdint>
#include <cstdlib>

#include "core/log.h"
#include "core/loop.h"
#include "core/redis.h"
#include "rooms/live/live_room.h"
#include "signaling/ws_protocol.h"
#include "tests/fuzz/wire_gen.h"

namespace {

using namespace jobcast;

struct World {
  Loop loop;
  RedisClient redis{loop, RedisAddress{"127.0.0.1", 1, ""}};
  std::unique_ptr<live::RoomsPort> port = live::makeRoomHashPort();
  live::LiveRoom room{redis, live::Limits{}, port.get()};
  World() { log::configure(log::Level::Error, log::Format::Json); }
};

void checkOne(fuzz::Choices& c) {
  static World world;
  const wire::Schema& schema = fuzz::message(c, false);
  nlohmann::json doc = fuzz::document(c, schema);
  switch (c.below(8)) {  // the envelope: mostly right
    case 0:
      break;  // no req
    case 1:
      doc["req"] = fuzz::value(c, nlohmann::json::object(), 1);
      break;
    default:
      doc["req"] = c.int64();
  }
  doc["type"] = schema.message;
  std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  auto decoded = ws::decodeFrame(text, 65536);
  if (auto* err = std::get_if<ws::FrameError>(&decoded)) {
    auto frame = nlohmann::json::parse(ws::errorFrame(err->req, err->code, err->message));
    if (err->code == "invalid_field" &&
        !schema.document["properties"].contains(frame.value("field", std::string())))
      std::abort();  // the error must name one of the message's fields
    if (err->code == "internal")
      std::abort();  // every frame type has a schema
    return;
  }
  auto& frame = std::get<ws::ClientFrame>(decoded);
  if (frame.type == "hello") {
    (void)ws::decodeHello(frame);
    return;
  }
  auto action = live::parseAction(frame.type);
  if (!action)
    std::abort();  // decodeFrame let an unknown type through
  rooms::Actor actor;
  actor.sub = "fuzz-user";
  actor.name = "Fuzz";
  switch (c.below(6)) {
    case 0:
      break;  // anonymous viewer
    case 1:
      actor.role = Role::Jobseeker;
      break;
    case 2:
      actor.role = Role::Captioner;
      break;
    case 3:
      actor.role = Role::Counsellor;
      actor.staff = true;
      break;
    case 4:
      actor.role = Role::Employer;
      actor.staff = true;
      break;
    default:
      actor.role = Role::Admin;
      actor.staff = true;
  }
  int answers = 0;
  world.room.perform("fuzz-room", actor, *action, frame.body,
                     [&answers](Result<nlohmann::json>) { ++answers; });
  world.loop.drain();
  if (answers != 1)
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jobcast::fuzz::Choices choices(data, size);
  checkOne(choices);
  return 0;
}
