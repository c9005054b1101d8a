#pragma once
// Follows the event streams of the rooms a part of the node cares about: on
// each notification (keys::notify, rooms/notifications.h) for such a room it
// reads the room's new entries from its cursor and hands them over in stream
// order. The owner names each room it starts to care about (follow); the
// predicate is asked on each notification and ends the interest. So a part can
// react to room events (the media to stage.changed and room.status) as they
// happen, without polling. Control thread only.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/loop.h"
#include "core/redis.h"
#include "rooms/notifications.h"

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

  // Runs after each (re)subscription of a room (nullopt: of every room), once
  // streams already followed have been re-read: notifications may have been
  // missed meanwhile, so the owner re-reads whatever state it keeps in step
  // for rooms not followed yet.
  void onResubscribed(std::function<void(const std::optional<std::string>&)> cb) {
    on_resubscribed_ = std::move(cb);
  }
  void start();
  // The owner starts to care about `room` (its notifications are subscribed
  // on a Redis Cluster); the predicate ends it.
  void follow(const std::string& room) { notifications_.follow(room); }
  bool subscribed() const { return notifications_.subscribed(); }

 private:
  struct Cursor {
    std::string first;  // the first entry to read (inclusive) until one was read
    std::string last;   // the last entry handed over
    bool reading = false;
    bool again = false;
  };
  void notified(const std::string& room, const std::string& entry_id);
  void resubscribed(const std::optional<std::string>& room);
  void read(const std::string& room);

  static constexpr size_t kBatch = 100;
  RedisClient& redis_;
  RoomNotifications notifications_;
  Follows follows_;
  Listener listener_;
  std::function<void(const std::optional<std::string>&)> on_resubscribed_;
  std::map<std::string, Cursor> cursors_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace jobcast::rooms
