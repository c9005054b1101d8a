#include "rooms/notifications.h"

#include "core/redis_sharded_subscriber.h"
#include "core/redis_subscriber.h"
#include "rooms/keys.h"

namespace jobcast::rooms {

const char* notifyCommand(const RedisClient& redis) {
  return redis.clustered() ? "SPUBLISH" : "PUBLISH";
}

RoomNotifications::RoomNotifications(Loop& loop, RedisClient& redis,
                                     std::optional<RedisAddress> address) {
  auto notified = [this](const std::string& channel, const std::string& entry_id) {
    if (auto room = keys::roomOfNotify(channel); room && on_notified_)
      on_notified_(*room, entry_id);
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
