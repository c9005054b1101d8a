#include "signaling/whep.h"

#include "core/log.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "signaling/auth.h"
#include "signaling/errors.h"

namespace jobcast::http {
namespace {

bool isSdp(const std::string& content_type) {
  auto semi = content_type.find(';');
  std::string type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ')
    type.pop_back();
  for (auto& c : type)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/sdp";
}

std::string hlsPath(const std::string& room) {
  return "/hls/" + room + "/master.m3u8";
}

}  // namespace

WhepEndpoint::WhepEndpoint(Router& router, media::WhepEgress& egress, const Jwt& jwt,
                           RedisClient* redis, Metrics& metrics, Options options)
    : egress_(egress), jwt_(jwt), redis_(redis), metrics_(metrics), options_(options) {
  metrics_.describe("jobcast_whep_viewers", Metrics::Type::Gauge,
                    "WHEP viewers connected to this node.");
  metrics_.gaugeFn("jobcast_whep_viewers", {},
                   [this] { return static_cast<double>(egress_.viewers()); });
  metrics_.describe("jobcast_whep_viewer_limit", Metrics::Type::Gauge,
                    "Most WHEP viewers this node accepts (whep.max_viewers).");
  metrics_.set("jobcast_whep_viewer_limit", {}, egress_.maxViewers());
  metrics_.describe("jobcast_whep_keyframe_requests_total", Metrics::Type::Counter,
                    "Viewers' keyframe requests: forwarded upstream, or merged into one.");
  metrics_.gaugeFn("jobcast_whep_keyframe_requests_total", {{"result", "forwarded"}},
                   [this] { return static_cast<double>(egress_.keyframesForwarded()); });
  metrics_.gaugeFn("jobcast_whep_keyframe_requests_total", {{"result", "merged"}},
                   [this] { return static_cast<double>(egress_.keyframesMerged()); });
  metrics_.describe("jobcast_whep_sessions_ended_total", Metrics::Type::Counter,
                    "WHEP sessions ended, by reason.");
  egress_.onReleased([this](const std::string&, const std::string& reason) {
    metrics_.add("jobcast_whep_sessions_ended_total", {{"reason", reason}});
  });

  router.add(Method::Post, "/whep/{room}",
             [this](const Request& req, const Responder& r) { post(req, r); });
  router.add(Method::Options, "/whep/{room}", [](const Request&, const Responder& r) {
    auto resp = Response::noContent();
    resp.header("allow", "POST, OPTIONS");
    resp.header("accept-post", "application/sdp");
    resp.header("access-control-allow-methods", "POST, OPTIONS");
    resp.header("access-control-allow-headers", "Authorization, Content-Type");
    resp.header("access-control-max-age", "86400");
    r.send(std::move(resp));
  });
  router.add(Method::Delete, "/whep/{room}/{session}",
             [this](const Request& req, const Responder& r) { remove(req, r); });
  router.add(
      Method::Patch, "/whep/{room}/{session}", [this](const Request& req, const Responder& r) {
        // Only the session's owner learns anything about it.
        if (auto denied = ownerCheck(req))
          return fail(r, req.param("room"), *denied);
        // The answer carries every server candidate and ICE restarts are not
        // offered: trickle and restart are refused as the protocol allows.
        auto resp =
            Response::error(405, "trickle_not_supported",
                            "send all candidates in the offer; trickle ICE is not supported");
        resp.header("allow", "DELETE, OPTIONS");
        r.send(std::move(resp));
      });
}

void WhepEndpoint::fail(const Responder& r, const std::string& room, const Error& error) const {
  int status = errors::httpStatus(error.code);
  nlohmann::json body = {{"error", {{"code", error.code}, {"message", error.message}}}};
  if (error.code == "viewer_limit")
    body["error"]["hls"] = hlsPath(room);
  auto resp = Response::json(status, body);
  if (status == 503)
    resp.header("retry-after", std::to_string(options_.retry_after_seconds));
  if (error.code == "viewer_limit")
    resp.header("link",
                "<" + hlsPath(room) + ">; rel=\"alternate\"; type=\"application/x-mpegURL\"");
  r.send(std::move(resp));
}

void WhepEndpoint::post(const Request& req, const Responder& r) {
  std::string room = req.param("room");
  if (!isSdp(req.header("content-type")))
    return fail(r, room, {"unsupported_media_type", "the offer must be application/sdp"});
  std::string variant = req.queryParam("variant").value_or("");
  if (variant != "" && variant != "interpreter" && variant != "360p")
    return fail(r, room, {"bad_variant", "variant must be 'interpreter', '360p' or absent"});
  bool has_token = false;
  std::string owner;
  if (!req.bearerToken().empty()) {  // anonymous viewers are the room's choice, below
    auto claims = authenticate(req, jwt_, epochSeconds());
    if (!claims)
      return fail(r, room, claims.error());
    rooms::Membership in_room;  // watching depends on the token's scope only
    in_room.room_id = room;
    if (auto denied = rooms::decide(&claims.value(), in_room, rooms::Operation::Watch))
      return fail(r, room, *denied);
    has_token = true;
    owner = claims->sub;
  }
  if (!redis_)
    return answer(req, r, owner);
  redis_->command(
      {"HMGET", rooms::keys::room(room), "status", "anonymous_viewers"},
      [this, req, r, room, has_token, owner](Result<RedisReply> reply) {
        if (!reply || reply->isError() || reply->elements.size() != 2)
          return fail(r, room, {"redis_unavailable", "room state is unavailable; retry"});
        const auto& status = reply->elements[0];
        if (status.isNil())
          return fail(r, room, {"room_not_found", "no such room"});
        if (status.str != "live")
          return fail(r, room, {"room_not_live", "the room is " + status.str});
        if (!has_token && reply->elements[1].str == "0")
          return fail(r, room, {"unauthorized", "this room admits signed-in viewers only"});
        answer(req, r, owner);
      });
}

void WhepEndpoint::answer(const Request& req, const Responder& r, const std::string& owner) {
  std::string room = req.param("room");
  std::string variant = req.queryParam("variant").value_or("");
  egress_.create(
      room, variant, req.body,
      [this, r, room](Result<media::WhepEgress::Created> created) {
        if (!created)
          return fail(r, room, created.error());
        auto resp = Response::text(201, created->answer, "application/sdp");
        resp.header("location", "/whep/" + room + "/" + created->session_id);
        resp.header("etag", "\"" + created->session_id + "\"");
        r.send(std::move(resp));
      },
      owner);
}

// A session belongs to whoever created it. Its id (128 random bits) appears
// only in the Location answered to that viewer, so knowing the URL proves
// ownership of an anonymous session; a session made with a token also needs
// a token of the same subject.
std::optional<Error> WhepEndpoint::ownerCheck(const Request& req) const {
  auto owner = egress_.ownerOf(req.param("room"), req.param("session"));
  if (!owner)
    return Error{"session_not_found", "no such WHEP session"};
  if (owner->empty())
    return std::nullopt;
  if (req.bearerToken().empty())
    return Error{"unauthorized", "end this session with the token that started it"};
  auto claims = authenticate(req, jwt_, epochSeconds());
  if (!claims)
    return claims.error();
  if (claims->sub != *owner)
    return Error{"forbidden", "this session belongs to someone else"};
  return std::nullopt;
}

void WhepEndpoint::remove(const Request& req, const Responder& r) {
  std::string room = req.param("room");
  if (auto denied = ownerCheck(req))
    return fail(r, room, *denied);
  if (!egress_.remove(room, req.param("session")))
    return fail(r, room, {"session_not_found", "no such WHEP session"});
  r.send(Response::noContent());
}

}  // namespace jobcast::http
