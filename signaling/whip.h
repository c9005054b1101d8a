#pragma once
// WHIP ingest over HTTP (RFC 9725) onto media::MediaService, plus what follows a
// publisher around: the stage state as a room event, and the media kept in
// step with the room's event stream (rooms/event_follower.h): a stage.changed
// ends the sessions of guests taken off the stage, room.status "ended" ends
// the room's media. Control thread.
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
#include "rooms/event_follower.h"
#include "rooms/events.h"
#include "rooms/stage.h"
#include "routing/room_gate.h"
#include "signaling/hls_responses.h"
#include "signaling/http.h"

namespace jobcast {

class WhipEndpoint {
 public:
  // events_maxlen bounds the room's event stream (redis.events_maxlen).
  WhipEndpoint(Loop& loop, const Jwt& jwt, RedisClient& redis, media::MediaService& media,
               std::unique_ptr<RoomGate> gate, int64_t events_maxlen = rooms::kDefaultEventsMaxlen);
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
  // A room event for a room whose media is here.
  void onRoomEvent(const rooms::RoomEvent& event);
  // Reads the room's state once (after a (re)subscription, a guest's publish):
  // what an event missed meanwhile would have changed.
  void resync(const std::string& room);
  // Ends guest sessions of people the stage no longer has; keeps captions current.
  void followStage(const std::string& room, const rooms::Stage& stage);
  // Forgets the owners of sessions that ended on their own.
  void pruneOwners();

  Loop& loop_;
  const Jwt& jwt_;
  RedisClient& redis_;
  media::MediaService& media_;
  std::unique_ptr<RoomGate> gate_;
  rooms::StageStore stage_;
  int64_t events_maxlen_;
  std::map<std::string, std::string> owners_;  // "room/session" -> publisher's sub
  rooms::EventFollower follower_;
};

// Builds WHIP, HLS and recording routes in one call (server/app.cpp).
struct MediaRoutes {
  std::unique_ptr<WhipEndpoint> whip;
  std::unique_ptr<class RecordingTimeline> timeline;
  // HLS answers prepared per version, for the HTTP server's front.
  std::shared_ptr<const http::HlsResponses> hls;
  ~MediaRoutes();
};
std::unique_ptr<MediaRoutes> registerMediaRoutes(
    http::Router& router, Loop& loop, const Jwt& jwt, RedisClient& redis,
    media::MediaService& media, bool public_replay = false,
    int64_t events_maxlen = rooms::kDefaultEventsMaxlen, const std::string& links_secret = "");

}  // namespace jobcast
