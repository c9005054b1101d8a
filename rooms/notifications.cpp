#include "rooms/notifications.h"

#include "core/redis_sharded_subscriber.h"
#include "core/redis_subscriber.h"
#include "rooms/keys.h"

namespace jobcast::rooms {

Notice Notice::parse(std::string_view payload) {
  Notice n;
  size_t nl = payload.find('\n');
  std::string_view head = payload.substr(0, nl);
  size_t space = head.find(' ');
  n.id = std::string(head.substr(0, space));
  if (space != std::string_view::npos)
    n.prev = std::string(head.substr(space + 1));
  if (nl == std::string_view::npos)
    return n;
  std::string_view rest = payload.substr(nl + 1);
  size_t a = rest.find('\n');
  size_t b = a == std::string_view::npos ? a : rest.find('\n', a + 1);
  if (b == std::string_view::npos || n.prev.empty())
    return n;
  n.kind = std::string(rest.substr(0, a));
  n.aud = std::string(rest.substr(a + 1, b - a - 1));
  n.data = std::string(rest.substr(b + 1));
  n.has_entry = !n.kind.empty();
  return n;
}

const char* notifyCommand(const RedisClient& redis) {
  return redis.clustered() ? "SPUBLISH" : "PUBLISH";
}

RoomNotifications::RoomNotifications(Loop& loop, RedisClient& redis,
                                     std::optional<RedisAddress> address) {
  auto notified = [this](const std::string& channel, const std::string& payload) {
    if (auto room = keys::roomOfNotify(channel); room && on_notified_)
      on_notified_(*room, Notice::parse(payload));
  };
  if (redis.clustered()) {
    sharded_ = std::make_unique<RedisShardedSubscriber>(loop, redis);
    sharded_->onMessage(notified);
    sharded_->onSubscribed([this](const std::string& channel) {
      if (auto room = keys::roomOfNotify(channel); room && on_subscribed_)
        on_subscribed_(*room);
    });
  } else {
    pattern_ = std::make_unique<RedisSubscriber>(loop, address ? *address : redis.address());
    pattern_->addPattern(keys::notifyPattern());
    pattern_->onMessage(notified);
    pattern_->onSubscribed([this] {
      if (on_subscribed_)
        on_subscribed_(std::nullopt);
    });
  }
}

RoomNotifications::~RoomNotifications() = default;

void RoomNotifications::start() {
  if (sharded_)
    sharded_->start();
  else
    pattern_->start();
}

void RoomNotifications::follow(const std::string& room) {
  if (sharded_)
    sharded_->subscribe(keys::notify(room));
}

void RoomNotifications::unfollow(const std::string& room) {
  if (sharded_)
    sharded_->unsubscribe(keys::notify(room));
}

bool RoomNotifications::subscribed() const {
  if (sharded_)
    return sharded_->confirmed() == sharded_->channels();
  return pattern_->subscribed();
}

}  // namespace jobcast::rooms
