#include "rooms/events.h"

#include "rooms/event_scripts.h"
#include "rooms/keys.h"
#include "rooms/notifications.h"
#include "rooms/prelude.h"

namespace jobcast::rooms {

RoomScript::RoomScript(std::string_view body)
    : script_(std::string(prelude::kPreludeLua) + std::string(body)) {}

void RoomScript::run(RedisClient& redis, int64_t events_maxlen,
                     const std::vector<std::string>& keys, const std::vector<std::string>& args,
                     RedisClient::Callback cb) const {
  std::vector<std::string> all;
  all.reserve(args.size() + 2);
  all.push_back(std::to_string(events_maxlen));
  all.push_back(notifyCommand(redis));
  all.insert(all.end(), args.begin(), args.end());
  script_.run(redis, keys, all, std::move(cb));
}

void appendEvent(RedisClient& redis, int64_t events_maxlen, const std::string& room,
                 const std::string& kind, const std::string& data, const std::string& aud,
                 std::function<void(Result<std::string>)> done) {
  static const RoomScript script{event_scripts::kAppendEventLua};
  script.run(redis, events_maxlen, {keys::events(room)}, {kind, data, aud},
             [done = std::move(done)](Result<RedisReply> r) {
               if (!r)
                 return done(r.error());
               if (r->type != RedisReply::Type::String)
                 return done(Error{"redis_unavailable", "the event was not appended"});
               done(r->str);
             });
}

}  // namespace jobcast::rooms
