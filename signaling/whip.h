#pragma once
// WHIP ingest over HTTP (RFC 9725) onto media::MediaService, plus what follows a
// publisher around: the stage state as a room event, the end of a room's media
// when the room ends. Control thread.
//
//   POST   /whip/{room}            application/sdp offer -> 201, Location, SDP answer
//                                  (a token whose sub the room's stage has as guest or
//                                  interpreter publishes beside the main publisher)
//   DELETE /whip/{room}/{session}  ends the session: its publisher's token (same sub)
//   PATCH  /whip/{room}/{session}  405: no trickle ICE, the answer has every candidate
//   OPTIONS                        CORS preflight (the router answers it)
//   GET    /api/v1/rooms/{id}/media  the stage state and the HLS address
//
// With several nodes, routing/media_owner.h wraps POST (the room's media lease,
// or 307 to the node holding it) and the media state (the owner node).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "core/jwt.h"
#include "core/loop.h"
#include "core/redis.h"
#include "media/media_service.h"
#include "rooms/stage.h"
#include "routing/room_gate.h"
#include "signaling/http.h"

namespace jobcast {

class WhipEndpoint {
 public:
  WhipEndpoint(Loop& loop, const Jwt& jwt, RedisClient& redis, media::MediaService& media,
               std::unique_ptr<RoomGate> gate);
  void registerRoutes(http::Router& router);
  // Runs every check POST /whip/{room} makes before publishing (token, content
  // type, room, access policy) and gives the refusal, or nullopt when the
  // publisher would be admitted. The media lease is taken only after this.
  void check(const http::Request& req, std::function<void(std::optional<http::Response>)> done);

 private:
  using Admission = std::variant<media::MediaService::Participant, http::Response>;
  void admit(const http::Request& req, std::function<void(Admission)> done);
  void post(const http::Request& req, const http::Responder& res);
  void publish(const std::string& room, const std::string& offer,
               const media::MediaService::Participant& who, const http::Responder& res);
  void remove(const http::Request& req, const http::Responder& res);
  void publishStage(const std::string& room, media::StageState state, const std::string& reason);
  void watchRooms();
  // Ends guest sessions of people the stage no longer has; keeps captions current.
  void followStage(const std::string& room, const rooms::Stage& stage);

  Loop& loop_;
  const Jwt& jwt_;
  RedisClient& redis_;
  media::MediaService& media_;
  std::unique_ptr<RoomGate> gate_;
  rooms::StageStore stage_;
  Timer watch_timer_;
  std::map<std::string, std::string> owners_;  // "room/session" -> publisher's sub
};

// Builds WHIP, HLS and recording routes in one call (server/app.cpp).
struct MediaRoutes {
  std::unique_ptr<WhipEndpoint> whip;
  std::unique_ptr<class RecordingTimeline> timeline;
  ~MediaRoutes();
};
std::unique_ptr<MediaRoutes> registerMediaRoutes(http::Router& router, Loop& loop, const Jwt& jwt,
                                                 RedisClient& redis, media::MediaService& media,
                                                 bool public_replay = false);

}  // namespace jobcast
