#include "signaling/stage_api.h"

#include "signaling/auth.h"
#include "signaling/rooms_api.h"
#include "signaling/wire.h"

namespace jobcast::http {
namespace {

nlohmann::json changeJson(const rooms::StageChange& change) {
  return {{"event_id", change.event_id}, {"stage", change.stage.toJson()}};
}

}  // namespace

StageApi::StageApi(Router& router, RedisClient& redis, const Jwt& jwt, int64_t events_maxlen)
    : store_(redis, events_maxlen), jwt_(jwt) {
  auto reply = [](const Responder& r) {
    return [r](Result<rooms::StageChange> change) {
      if (!change)
        return r.send(errorResponse(change.error()));
      r.json(200, changeJson(change.value()));
    };
  };
  router.add(Method::Get, "/api/v1/rooms/{room}/stage",
             [this](const Request& req, const Responder& r) {
               store_.get(req.param("room"), [r](Result<rooms::Stage> stage) {
                 if (!stage)
                   return r.send(errorResponse(stage.error()));
                 r.json(200, stage->toJson());
               });
             });
  router.add(
      Method::Put, "/api/v1/rooms/{room}/stage/{sub}",
      [this, reply](const Request& req, const Responder& r) {
        auto actor = authorize(req);
        if (!actor)
          return r.send(errorResponse(actor.error()));
        auto parsed = wire::parseBody(req.routeKey(), req.body);
        if (!parsed.ok())
          return r.send(errorResponse(parsed.error()));
        const auto& body = parsed.value();
        // The schema promised a string "slot" and, if present, a string or null "name".
        auto slot = rooms::parseStageSlot(body.at("slot").get_ref<const std::string&>());
        if (!slot)
          return r.send(
              errorResponse({"invalid_field", "slot: must be main, guest or interpreter"}));
        auto name_it = body.find("name");
        std::string name =
            name_it != body.end() && name_it->is_string() ? name_it->get<std::string>() : "";
        if (name.size() > 80)
          return r.send(errorResponse({"invalid_field", "name: longer than 80 characters"}));
        store_.put(req.param("room"), actor.value(), *slot, {req.param("sub"), name}, reply(r));
      });
  router.add(Method::Delete, "/api/v1/rooms/{room}/stage/{sub}",
             [this, reply](const Request& req, const Responder& r) {
               auto actor = authorize(req);
               if (!actor)
                 return r.send(errorResponse(actor.error()));
               store_.remove(req.param("room"), actor.value(), req.param("sub"), reply(r));
             });
}

Result<Claims> StageApi::authorize(const Request& req) const {
  return authenticate(req, jwt_, epochSeconds());
}

}  // namespace jobcast::http
