#include "rooms/event_follower.h"

#include "core/log.h"
#include "rooms/keys.h"

namespace jobcast::rooms {

EventFollower::EventFollower(Loop& loop, RedisClient& redis, Follows follows, Listener listener)
    : redis_(redis),
      notifications_(loop, redis),
      follows_(std::move(follows)),
      listener_(std::move(listener)) {}

EventFollower::~EventFollower() {
  *alive_ = false;
}

void EventFollower::start() {
  notifications_.onNotified(
      [this](const std::string& room, const Notice& notice) { notified(room, notice.id); });
  notifications_.onSubscribed(
      [this](const std::optional<std::string>& room) { resubscribed(room); });
  notifications_.start();
}

void EventFollower::resubscribed(const std::optional<std::string>& room) {
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    if (room && it->first != *room) {
      ++it;
    } else if (!follows_(it->first)) {
      notifications_.unfollow(it->first);
      it = cursors_.erase(it);
    } else {
      read((it++)->first);
    }
  }
  if (on_resubscribed_)
    on_resubscribed_(room);
}

void EventFollower::notified(const std::string& room, const std::string& entry_id) {
  if (!follows_(room)) {
    cursors_.erase(room);
    notifications_.unfollow(room);
    return;
  }
  // A room seen for the first time is read from the notified entry on: what
  // came before is in the state its owner read when it started to care.
  auto [it, fresh] = cursors_.try_emplace(room);
  if (fresh)
    it->second.first = entry_id;
  read(room);
}

void EventFollower::read(const std::string& room) {
  auto it = cursors_.find(room);
  if (it == cursors_.end())
    return;
  Cursor& c = it->second;
  if (c.reading) {
    c.again = true;
    return;
  }
  c.reading = true;
  c.again = false;
  std::string from = c.last.empty() ? c.first : "(" + c.last;
  redis_.command({"XRANGE", keys::events(room), from, "+", "COUNT", std::to_string(kBatch)},
                 [this, alive = std::weak_ptr<bool>(alive_), room](Result<RedisReply> r) {
                   auto live = alive.lock();
                   if (!live || !*live)
                     return;
                   auto it = cursors_.find(room);
                   if (it == cursors_.end())
                     return;
                   it->second.reading = false;
                   if (!r || r->type != RedisReply::Type::Array) {
                     log::warn("room events unreadable", {{"room", room}});
                     return;  // the next notification or resubscription reads again
                   }
                   size_t n = r->elements.size();
                   for (const auto& entry : r->elements) {
                     if (entry.elements.size() != 2)
                       continue;
                     RoomEvent ev{room, entry.elements[0].str, "", "{}"};
                     const auto& fields = entry.elements[1].elements;
                     for (size_t i = 0; i + 1 < fields.size(); i += 2) {
                       if (fields[i].str == "kind")
                         ev.kind = fields[i + 1].str;
                       else if (fields[i].str == "data")
                         ev.data = fields[i + 1].str;
                     }
                     it->second.last = ev.id;
                     listener_(ev);
                     it = cursors_.find(room);  // the listener may have ended our interest
                     if (it == cursors_.end() || !*live)
                       return;
                   }
                   if (it->second.again || n >= kBatch)
                     read(room);
                 });
}

}  // namespace jobcast::rooms
