#pragma once
// How a node hears that a room has new events: each room script publishes the
// entry id (and a small event itself) on the room's notify channel
// (rooms/prelude.lua emit). On one Redis
// the node PSUBSCRIBEs to every room's channel at once; on a Redis Cluster a
// plain PUBLISH would travel to every node of the cluster, so scripts use
// SPUBLISH and the node SSUBSCRIBEs to the channels of the rooms it follows,
// each on its shard (core/redis_sharded_subscriber.h). Users name the rooms
// they care about either way; on one Redis that only filters. Control thread
// only.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/loop.h"
#include "core/redis.h"

namespace jobcast {
class RedisSubscriber;
class RedisShardedSubscriber;
}  // namespace jobcast

namespace jobcast::rooms {

// A room's notification (rooms/prelude.lua emit): "ID PREV", then for an
// event that is small enough "\nKIND\nAUD\nDATA". A bare "ID" is understood
// too.
struct Notice {
  std::string id;    // the new entry's
  std::string prev;  // the entry before it ("0-0": none); "" when not given
  bool has_entry = false;
  std::string kind, aud, data;

  static Notice parse(std::string_view payload);
};

// The publish command room scripts use on this client's Redis.
const char* notifyCommand(const RedisClient& redis);

class RoomNotifications {
 public:
  // room, and what its script published
  using Notified = std::function<void(const std::string&, const Notice&)>;
  // A room's subscription is (again) in place; nullopt: every room's (the
  // pattern subscription came back after a loss). Notifications may have
  // been missed before: re-read.
  using Subscribed = std::function<void(const std::optional<std::string>&)>;

  // `address`: where to subscribe on one Redis (the client's address when
  // empty); ignored on a cluster.
  RoomNotifications(Loop& loop, RedisClient& redis, std::optional<RedisAddress> address = {});
  ~RoomNotifications();
  RoomNotifications(const RoomNotifications&) = delete;
  RoomNotifications& operator=(const RoomNotifications&) = delete;

  void onNotified(Notified cb) { on_notified_ = std::move(cb); }
  void onSubscribed(Subscribed cb) { on_subscribed_ = std::move(cb); }
  void start();

  // The rooms whose notifications this node wants. Idempotent.
  void follow(const std::string& room);
  void unfollow(const std::string& room);

  // Whether notifications arrive: the pattern subscription is up, or every
  // followed room's channel is subscribed.
  bool subscribed() const;

 private:
  Notified on_notified_;
  Subscribed on_subscribed_;
  std::unique_ptr<RedisSubscriber> pattern_;
  std::unique_ptr<RedisShardedSubscriber> sharded_;
};

}  // namespace jobcast::rooms
