#pragma once
// Follows the event streams of the rooms a part of the node cares about: on
// each notification (keys::notify) for such a room it reads the room's new
// entries from its cursor and hands them over in stream order. So a part can
// react to room events (the media to stage.changed and room.status) as they
// happen, without polling. Control thread only.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/loop.h"
#include "core/redis.h"
#include "core/redis_subscriber.h"

namespace jobcast::rooms {

struct RoomEvent {
  std::string room;
  std::string id;  // the entry id in the room's stream
  std::string kind;
  std::string data;  // JSON text
};

class EventFollower {
 public:
  // Asked on each notification: whether to read this room's stream.
  using Follows = std::function<bool(const std::string& room)>;
  using Listener = std::function<void(const RoomEvent&)>;

  EventFollower(Loop& loop, RedisClient& redis, Follows follows, Listener listener);
  ~EventFollower();
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;

  // Runs after each (re)subscription, once streams already followed have been
  // re-read: notifications may have been missed meanwhile, so the owner
  // re-reads whatever state it keeps in step for rooms not followed yet.
  void onResubscribed(std::function<void()> cb) { on_resubscribed_ = std::move(cb); }
  void start();
  bool subscribed() const { return subscriber_.subscribed(); }

 private:
  struct Cursor {
    std::string first;  // the first entry to read (inclusive) until one was read
    std::string last;   // the last entry handed over
    bool reading = false;
    bool again = false;
  };
  void notified(const std::string& room, const std::string& entry_id);
  void read(const std::string& room);

  static constexpr size_t kBatch = 100;
  RedisClient& redis_;
  RedisSubscriber subscriber_;
  Follows follows_;
  Listener listener_;
  std::function<void()> on_resubscribed_;
  std::map<std::string, Cursor> cursors_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace jobcast::rooms
