#include "routing/media_lease.h"

#include <nlohmann/json.hpp>

#include "rooms/keys.h"
#include "routing/media_lease_scripts.h"

namespace jobcast {
namespace {

const RedisScript& claimScript() {
  static const RedisScript s{std::string(media_lease_scripts::kMediaLeaseClaimLua)};
  return s;
}

const RedisScript& releaseScript() {
  static const RedisScript s{std::string(media_lease_scripts::kMediaLeaseReleaseLua)};
  return s;
}

Error unavailable(const std::string& what) {
  return Error{"redis_unavailable", "the media lease is unavailable: " + what};
}

}  // namespace

std::string MediaNode::value() const {
  return nlohmann::json{{"node", id}, {"url", url}}.dump();
}

std::optional<MediaNode> MediaNode::parse(const std::string& value) {
  auto json = nlohmann::json::parse(value, nullptr, false);
  if (!json.is_object() || !json.contains("node") || !json["node"].is_string() ||
      !json.contains("url") || !json["url"].is_string())
    return std::nullopt;
  return MediaNode{json["node"].get<std::string>(), json["url"].get<std::string>()};
}

MediaLease::MediaLease(RedisClient& redis, MediaNode self, std::chrono::milliseconds ttl)
    : redis_(redis), self_(std::move(self)), value_(self_.value()), ttl_(ttl) {}

std::string MediaLease::key(const std::string& room) {
  return rooms::keys::mediaNode(room);
}

void MediaLease::claim(const std::string& room, std::function<void(Result<Claim>)> done) {
  claimScript().run(
      redis_, {key(room)}, {value_, std::to_string(ttl_.count()), self_.url},
      [self = self_, done = std::move(done)](Result<RedisReply> reply) {
        if (!reply)
          return done(reply.error());
        if (reply->isError() || reply->elements.size() != 3)
          return done(unavailable(reply->isError() ? reply->str : "unexpected reply"));
        Claim claim;
        claim.ours = reply->elements[0].integer == 1;
        claim.taken = reply->elements[2].integer == 1;
        if (claim.ours) {
          claim.holder = self;
        } else {
          auto holder = MediaNode::parse(reply->elements[1].str);
          if (!holder)
            return done(unavailable("the lease holds no node"));
          claim.holder = *holder;
        }
        done(claim);
      });
}

void MediaLease::release(const std::string& room, std::function<void(Result<bool>)> done) {
  releaseScript().run(redis_, {key(room)}, {value_},
                      [done = std::move(done)](Result<RedisReply> reply) {
                        if (!reply)
                          return done(reply.error());
                        if (reply->isError())
                          return done(unavailable(reply->str));
                        done(reply->integer == 1);
                      });
}

void MediaLease::holder(const std::string& room,
                        std::function<void(Result<std::optional<MediaNode>>)> done) {
  redis_.command({"GET", key(room)}, [done = std::move(done)](Result<RedisReply> reply) {
    if (!reply)
      return done(reply.error());
    if (reply->isError())
      return done(unavailable(reply->str));
    if (reply->isNil())
      return done(std::optional<MediaNode>());
    // A value no node wrote (hand-edited, say) routes nowhere: serve locally.
    return done(MediaNode::parse(reply->str));
  });
}

}  // namespace jobcast
