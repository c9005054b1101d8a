#include "backoffice/figures.h"

#include <nlohmann/json.hpp>

#include "backoffice/webhook_scripts.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "signaling/auth.h"
#include "signaling/rooms_api.h"

namespace jobcast::backoffice {

FiguresApi::FiguresApi(http::Router& router, RedisClient& redis, const Jwt& jwt,
                       rooms::RoomStore& store)
    : redis_(redis), jwt_(jwt), store_(store) {
  router.add(
      http::Method::Get, "/api/v1/rooms/{id}/figures",
      [this](const http::Request& q, const http::Responder& r) {
        auto who = http::authenticate(q, jwt_, http::epochSeconds());
        if (!who.ok())
          return r.send(errorResponse(who.error()));
        std::string id = q.param("id");
        store_.getRoom(id, [this, r, id, who = who.value()](Result<rooms::Room> room) {
          if (!room.ok())
            return r.send(errorResponse(room.error()));
          // Who may read the room's applications may read its figures.
          if (auto e = rooms::decide(&who, rooms::Membership::of(room.value()),
                                     rooms::Operation::ReadApplications))
            return r.send(errorResponse(*e));
          static const RedisScript read{std::string(scripts::kFiguresLua)};
          read.run(
              redis_,
              {rooms::keys::figureViewers(id), rooms::keys::figures(id), rooms::keys::counts(id)},
              {},
              [r, id, status = std::string(rooms::roomStatusName(room.value().status))](
                  Result<RedisReply> reply) {
                if (!reply.ok() || reply.value().isError() || reply.value().elements.size() != 9)
                  return r.send(
                      errorResponse(Error{"redis_unavailable", "the data store is not reachable"}));
                const auto& v = reply.value().elements;
                int64_t unique = v[0].integer;
                int64_t peak = std::strtoll(v[1].str.c_str(), nullptr, 10);
                int64_t applications = std::strtoll(v[2].str.c_str(), nullptr, 10);
                auto count = [&v](size_t i) { return std::strtoll(v[i].str.c_str(), nullptr, 10); };
                nlohmann::json interviews{{"total", count(3)},    {"completed", count(4)},
                                          {"declined", count(5)}, {"no_show", count(6)},
                                          {"dropped", count(7)},  {"seconds", count(8)}};
                double conversion =
                    unique > 0 ? static_cast<double>(applications) / static_cast<double>(unique)
                               : 0.0;
                r.json(200, {{"room_id", id},
                             {"status", status},
                             {"unique_viewers", unique},
                             {"peak_viewers", peak},
                             {"applications", applications},
                             {"conversion", conversion},
                             {"interviews", interviews}});
              });
        });
      });
}

}  // namespace jobcast::backoffice
