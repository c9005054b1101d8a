#include "signaling/whip.h"

#include <algorithm>
#include <ctime>

#include "core/log.h"
#include "signaling/auth.h"
#include "signaling/errors.h"
#include "signaling/hls.h"

namespace jobcast {
WhipEndpoint::WhipEndpoint(Loop& loop, const Jwt& jwt, RedisClient& redis,
                           media::MediaService& media, std::unique_ptr<RoomGate> gate,
                           int64_t events_maxlen)
    : loop_(loop),
      jwt_(jwt),
      redis_(redis),
      media_(media),
      gate_(std::move(gate)),
      stage_(redis, events_maxlen),
      events_maxlen_(events_maxlen),
      follower_(
          loop, redis,
          [this](const std::string& room) {
            auto rooms = media_.rooms();
            return std::find(rooms.begin(), rooms.end(), room) != rooms.end();
          },
          [this](const rooms::RoomEvent& event) { onRoomEvent(event); }) {
  media_.onStateChange([this](const std::string& room, media::StageState state,
                              const std::string& reason) { publishStage(room, state, reason); });
  follower_.onResubscribed([this](const std::optional<std::string>& room) {
    for (const auto& held : media_.rooms()) {
      if (!room || *room == held)
        resync(held);
    }
  });
  follower_.start();
}

void WhipEndpoint::registerRoutes(http::Router& router) {
  router.add(http::Method::Post, "/whip/{room}",
             [this](const http::Request& req, const http::Responder& res) { post(req, res); });
  router.add(http::Method::Delete, "/whip/{room}/{session}",
             [this](const http::Request& req, const http::Responder& res) { remove(req, res); });
  router.add(http::Method::Get, "/api/v1/rooms/{id}/media",
             [this](const http::Request& req, const http::Responder& res) {
               std::string room = req.param("id");
               nlohmann::json body = {{"room", room},
                                      {"stage", media::stageStateName(media_.state(room))}};
               // Who publishes beside the main publisher here: the stage's
               // guests and interpreter whose sessions are up.
               body["guests"] = media_.stageGuests(room);
               const media::HlsStore* hls = media_.hls(room);
               if (hls && hls->ready())
                 body["hls"] = "/hls/" + room + "/master.m3u8";
               res.json(200, body);
             });
}

void WhipEndpoint::post(const http::Request& req, const http::Responder& res) {
  std::string room = req.param("room");
  std::string offer = req.body;
  admit(req, [this, room, offer, res](Admission admission) {
    if (auto* refusal = std::get_if<http::Response>(&admission))
      return res.send(std::move(*refusal));
    publish(room, offer, std::get<media::MediaService::Participant>(admission), res);
  });
}

void WhipEndpoint::check(const http::Request& req,
                         std::function<void(std::optional<http::Response>)> done) {
  admit(req, [done = std::move(done)](Admission admission) {
    if (auto* refusal = std::get_if<http::Response>(&admission))
      return done(std::move(*refusal));
    done(std::nullopt);
  });
}

void WhipEndpoint::admit(const http::Request& req, std::function<void(Admission)> done) {
  std::string room = req.param("room");
  auto claims = http::authenticate(req, jwt_, http::epochSeconds());
  if (!claims) {
    auto r = http::Response::error(401, claims.error().code, claims.error().message);
    r.header("www-authenticate",
             claims.error().code == "unauthorized" ? "Bearer" : "Bearer error=\"invalid_token\"");
    return done(std::move(r));
  }
  std::string type = req.header("content-type");
  if (type.rfind("application/sdp", 0) != 0)
    return done(
        http::Response::error(415, "unsupported_media_type", "WHIP offers are application/sdp"));
  if (!media::validRoomId(room))
    return done(http::Response::error(404, "room_not_found", "no such room"));
  gate_->lookup(room, [this, room, claims = claims.value(),
                       done = std::move(done)](Result<RoomRecord> record) mutable {
    if (!record)
      return done(
          http::Response::error(503, record.error().code, "room state is unavailable, retry"));
    if (!record->exists)
      return done(http::Response::error(404, "room_not_found", "no such room"));
    if (record->status != "live") {
      if (!mayPublish(claims, room, record.value()))
        return done(
            http::Response::error(403, "forbidden", "this token may not publish into this room"));
      return done(http::Response::error(409, "room_not_live",
                                        "the room is " + record->status + ", not live"));
    }
    // The stage says who publishes as what: its guests and interpreter beside
    // the main publisher; anyone else the access policy allows publishes as main.
    stage_.get(room, [room, claims, record = record.value(),
                      done = std::move(done)](Result<rooms::Stage> stage) {
      media::MediaService::Participant who;
      who.sub = claims.sub;
      rooms::Membership members = record.members;
      members.room_id = room;
      const bool on_stage_ok = rooms::allowed(&claims, members, rooms::Operation::PublishOnStage);
      if (stage) {
        for (const auto& g : stage->guests) {
          if (g.sub == claims.sub && on_stage_ok)
            who = {media::MediaService::Participant::Slot::Guest, g.sub, g.name};
        }
        if (stage->interpreter && stage->interpreter->sub == claims.sub && on_stage_ok) {
          who = {media::MediaService::Participant::Slot::Interpreter, claims.sub,
                 stage->interpreter->name};
        }
        if (stage->main && stage->main->sub == claims.sub)
          who.name = stage->main->name;
      }
      if (who.slot == media::MediaService::Participant::Slot::Main &&
          !mayPublish(claims, room, record))
        return done(
            http::Response::error(403, "forbidden", "this token may not publish into this room"));
      done(who);
    });
  });
}

void WhipEndpoint::publish(const std::string& room, const std::string& offer,
                           const media::MediaService::Participant& who,
                           const http::Responder& res) {
  media_.publish(room, offer, who,
                 [this, room, sub = who.sub, slot = who.slot,
                  res](Result<media::MediaService::Published> published) {
                   if (!published) {
                     res.error(errors::httpStatus(published.error().code), published.error().code,
                               published.error().message);
                     return;
                   }
                   http::Response r;
                   r.status = 201;
                   r.content_type = "application/sdp";
                   r.body = published->answer_sdp;
                   r.header("location", "/whip/" + room + "/" + published->session);
                   r.header("etag", "\"" + published->session + "\"");
                   pruneOwners();
                   owners_[room + "/" + published->session] = sub;
                   follower_.follow(room);
                   res.send(std::move(r));
                   // The stage may have changed between the admission's read and now.
                   if (slot != media::MediaService::Participant::Slot::Main)
                     resync(room);
                 });
}

// Only the session's owner ends it: the session id (128 random bits) is in
// the Location answered to the publisher alone, and the DELETE must carry a
// token of the same subject. An admin whose token names the room may end any.
void WhipEndpoint::remove(const http::Request& req, const http::Responder& res) {
  std::string room = req.param("room");
  std::string session = req.param("session");
  auto claims = http::authenticate(req, jwt_, http::epochSeconds());
  if (!claims) {
    res.error(401, claims.error().code, claims.error().message);
    return;
  }
  auto owner = owners_.find(room + "/" + session);
  if (owner == owners_.end() || !media_.hasSession(room, session)) {
    res.error(404, "session_not_found", "no such WHIP session");
    return;
  }
  bool admin = claims->role == Role::Admin && claims->allowsRoom(room);
  if (owner->second != claims->sub && !admin) {
    res.error(403, "forbidden", "this session belongs to someone else");
    return;
  }
  owners_.erase(owner);
  if (!media_.endSession(room, session)) {
    res.error(404, "session_not_found", "no such WHIP session");
    return;
  }
  res.send(http::Response::noContent());
}

void WhipEndpoint::publishStage(const std::string& room, media::StageState state,
                                const std::string& reason) {
  // The stage state is a room event like any other (docs/redis-schema.md), so
  // every page learns that the publisher is reconnecting.
  nlohmann::json data = {{"state", media::stageStateName(state)}, {"reason", reason}};
  rooms::appendEvent(
      redis_, events_maxlen_, room, "media.stage", data.dump(), "all",
      [room](Result<std::string> id) {
        if (!id)
          log::warn("media.stage not announced", {{"room", room}, {"error", id.error().message}});
      });
}

void WhipEndpoint::onRoomEvent(const rooms::RoomEvent& event) {
  if (event.kind == "stage.changed") {
    auto stage = rooms::Stage::fromJson(nlohmann::json::parse(event.data, nullptr, false));
    if (stage)
      followStage(event.room, stage.value());
  } else if (event.kind == "caption") {
    // Into the room's HLS subtitle rendition (a correction has the same id).
    auto data = nlohmann::json::parse(event.data, nullptr, false);
    if (data.is_object() && data["id"].is_string() && data["at"].is_number_integer() &&
        data["text"].is_string()) {
      media_.addCaption(event.room, data["id"].get<std::string>(), data["at"].get<int64_t>(),
                        data["text"].get<std::string>());
    }
  } else if (event.kind == "room.status") {
    auto data = nlohmann::json::parse(event.data, nullptr, false);
    if (data.is_object() && data.value("status", "") == "ended") {
      log::info("room ended: closing its media", {{"room", event.room}});
      media_.endRoom(event.room);
    }
  }
}

void WhipEndpoint::resync(const std::string& room) {
  gate_->lookup(room, [this, room](Result<RoomRecord> record) {
    if (record && (!record->exists || record->status == "ended")) {
      log::info("room ended: closing its media", {{"room", room}});
      media_.endRoom(room);
    }
  });
  stage_.get(room, [this, room](Result<rooms::Stage> stage) {
    if (stage)
      followStage(room, stage.value());
  });
}

void WhipEndpoint::pruneOwners() {
  for (auto it = owners_.begin(); it != owners_.end();) {
    auto slash = it->first.find('/');
    if (media_.hasSession(it->first.substr(0, slash), it->first.substr(slash + 1)))
      ++it;
    else
      it = owners_.erase(it);
  }
}

void WhipEndpoint::followStage(const std::string& room, const rooms::Stage& stage) {
  for (const auto& sub : media_.stageGuests(room)) {
    bool on = stage.interpreter && stage.interpreter->sub == sub;
    for (const auto& g : stage.guests)
      on = on || g.sub == sub;
    if (!on) {
      log::info("left the stage: ending their session", {{"room", room}});
      media_.endGuest(room, sub);
    }
  }
  if (stage.main)
    media_.setMainName(room, stage.main->name);
}

MediaRoutes::~MediaRoutes() = default;

std::unique_ptr<MediaRoutes> registerMediaRoutes(http::Router& router, Loop& loop, const Jwt& jwt,
                                                 RedisClient& redis, media::MediaService& media,
                                                 bool public_replay, int64_t events_maxlen,
                                                 const std::string& links_secret) {
  auto routes = std::make_unique<MediaRoutes>();
  routes->whip = std::make_unique<WhipEndpoint>(
      loop, jwt, redis, media, std::make_unique<RedisRoomGate>(redis), events_maxlen);
  routes->whip->registerRoutes(router);
  routes->timeline = std::make_unique<RecordingTimeline>(redis, media);
  routes->hls = registerHls(router, loop, media);
  registerRecordings(router, media, jwt, public_replay, links_secret);
  return routes;
}

}  // namespace jobcast
