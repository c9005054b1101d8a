#include "signaling/stage_api.h"

#include <ctime>
#include <map>

#include "signaling/rooms_api.h"
#include "signaling/wire.h"

namespace jobcast::http {
namespace {

nlohmann::json changeJson(const rooms::StageChange& change) {
  return {{"event_id", change.event_id}, {"stage", change.stage.toJson()}};
}

}  // namespace

int StageApi::statusFor(const std::string& code) {
  static const std::map<std::string, int> table = {
      {"bad_request", 400},    {"token_required", 401},    {"unauthorized", 401},
      {"invalid_token", 401},  {"token_expired", 401},     {"forbidden", 403},
      {"room_not_found", 404}, {"not_on_stage", 404},      {"room_ended", 409},
      {"stage_full", 409},     {"redis_unavailable", 503}, {"outcome_unknown", 503},
  };
  auto it = table.find(code);
  return it == table.end() ? 500 : it->second;
}

StageApi::StageApi(Router& router, RedisClient& redis, const Jwt& jwt, int64_t events_maxlen)
    : store_(redis, events_maxlen), jwt_(jwt) {
  auto reply = [](const Responder& r) {
    return [r](Result<rooms::StageChange> change) {
      if (!change)
        return r.error(statusFor(change.error().code), change.error().code, change.error().message);
      r.json(200, changeJson(change.value()));
    };
  };
  router.add(Method::Get, "/api/v1/rooms/{room}/stage",
             [this](const Request& req, const Responder& r) {
               store_.get(req.param("room"), [r](Result<rooms::Stage> stage) {
                 if (!stage)
                   return r.error(statusFor(stage.error().code), stage.error().code,
                                  stage.error().message);
                 r.json(200, stage->toJson());
               });
             });
  router.add(
      Method::Put, "/api/v1/rooms/{room}/stage/{sub}",
      [this, reply](const Request& req, const Responder& r) {
        auto actor = authorize(req);
        if (!actor)
          return r.error(statusFor(actor.error().code), actor.error().code, actor.error().message);
        auto parsed = wire::parseBody(req.routeKey(), req.body);
        if (!parsed.ok())
          return r.send(errorResponse(parsed.error()));
        const auto& body = parsed.value();
        // The schema promised a string "slot" and, if present, a string or null "name".
        auto slot = rooms::parseStageSlot(body.at("slot").get_ref<const std::string&>());
        if (!slot)
          return r.error(400, "bad_request", "slot is main, guest or interpreter");
        auto name_it = body.find("name");
        std::string name =
            name_it != body.end() && name_it->is_string() ? name_it->get<std::string>() : "";
        if (name.size() > 80)
          return r.error(400, "bad_request", "name is longer than 80 characters");
        store_.put(req.param("room"), actor.value(), *slot, {req.param("sub"), name}, reply(r));
      });
  router.add(Method::Delete, "/api/v1/rooms/{room}/stage/{sub}",
             [this, reply](const Request& req, const Responder& r) {
               auto actor = authorize(req);
               if (!actor)
                 return r.error(statusFor(actor.error().code), actor.error().code,
                                actor.error().message);
               store_.remove(req.param("room"), actor.value(), req.param("sub"), reply(r));
             });
}

Result<Claims> StageApi::authorize(const Request& req) const {
  std::string token = req.bearerToken();
  if (token.empty())
    return Error{"token_required", "changing the stage needs a token"};
  return jwt_.verify(token, static_cast<int64_t>(std::time(nullptr)));
}

}  // namespace jobcast::http
