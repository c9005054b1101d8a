#include "core/redis_sharded_subscriber.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <vector>

#include "core/guard.h"
#include "core/log.h"
#include "core/redis_connection.h"
#include "core/redis_slots.h"

namespace jobcast {

namespace {

// A plain channel each connection holds for its life: hiredis leaves
// subscribe mode when the plain subscriptions drop to none, and a sharded
// message after that would be taken for a protocol error.
constexpr const char* kHoldChannel = "jc:sharded-hold";

void onPush(redisAsyncContext* ac, void* reply, void* privdata);

// Queues a command on the connection without a reply callback: hiredis would
// otherwise match its reply (a push it does not know) to the wrong request.
void sendUnmatched(redisAsyncContext* ac, const char* verb, const std::string& channel) {
  if (!ac || (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
    return;
  const char* argv[] = {verb, channel.c_str()};
  size_t lens[] = {std::char_traits<char>::length(verb), channel.size()};
  char* cmd = nullptr;
  int len = redisFormatCommandArgv(&cmd, 2, argv, lens);
  if (len < 0)
    return;
  redisAppendFormattedCommand(&ac->c, cmd, static_cast<size_t>(len));
  redisFreeCommand(cmd);
  if (ac->ev.addWrite)
    ac->ev.addWrite(ac->ev.data);
}

void sendPlain(redisAsyncContext* ac, const char* verb, const std::string& channel, void* shard) {
  const char* argv[] = {verb, channel.c_str()};
  size_t lens[] = {std::char_traits<char>::length(verb), channel.size()};
  redisAsyncCommandArgv(ac, onPush, shard, 2, argv, lens);
}

}  // namespace

struct RedisShardedSubscriber::Shard {
  RedisShardedSubscriber* owner = nullptr;
  RedisAddress address;
  std::unique_ptr<RedisConnection> conn;
  // Wanted channels placed on this node.
  std::set<std::string> channels;
  // Plain subscriptions of the current link by channel name: false while
  // subscribed, true while the UNSUBSCRIBE is on its way (a new SUBSCRIBE of
  // the same name must wait for its reply, which would remove it).
  std::map<std::string, bool> plain;

  redisAsyncContext* ac() const {
    auto* link = conn ? conn->link() : nullptr;
    return link ? link->ac : nullptr;
  }
};

namespace {

void onPush(redisAsyncContext* ac, void* reply, void* privdata) {
  if (!reply || !RedisConnection::ownerOf(ac))
    return;  // lost or shutting down
  auto* shard = static_cast<RedisShardedSubscriber::Shard*>(privdata);
  shard->owner->handle(*shard, convertReply(static_cast<redisReply*>(reply)));
}

}  // namespace

RedisShardedSubscriber::RedisShardedSubscriber(Loop& loop, RedisClient& redis)
    : loop_(loop), redis_(redis) {}

RedisShardedSubscriber::~RedisShardedSubscriber() {
  reconcile_timer_.cancel();
}

void RedisShardedSubscriber::start() {
  started_ = true;
  for (auto& [channel, w] : wanted_)
    place(channel, w);
  reconcile_timer_.start(loop_, std::chrono::milliseconds(500), [this] {
    reconcile();
    return true;
  });
}

size_t RedisShardedSubscriber::confirmed() const {
  size_t n = 0;
  for (const auto& [_, w] : wanted_)
    n += w.confirmed ? 1 : 0;
  return n;
}

void RedisShardedSubscriber::subscribe(const std::string& channel) {
  auto [it, fresh] = wanted_.try_emplace(channel);
  if (!fresh)
    return;
  it->second.slot = keySlot(channel);
  if (started_)
    place(channel, it->second);
}

void RedisShardedSubscriber::unsubscribe(const std::string& channel) {
  auto it = wanted_.find(channel);
  if (it == wanted_.end())
    return;
  unplace(channel, it->second);
  wanted_.erase(it);
}

RedisShardedSubscriber::Shard& RedisShardedSubscriber::shardAt(const RedisAddress& address) {
  auto& slot = shards_[address.str()];
  if (slot)
    return *slot;
  slot = std::make_unique<Shard>();
  Shard* shard = slot.get();
  shard->owner = this;
  shard->address = address;
  RedisConnection::Events events;
  // Sent once it connects: the held channel first, then every channel here.
  events.created = [this, shard](redisAsyncContext* ac) {
    shard->plain.clear();
    sendPlain(ac, "SUBSCRIBE", kHoldChannel, shard);
    for (const auto& channel : shard->channels)
      sendSubscribe(*shard, channel);
  };
  events.lost = [this, shard](const char* reason) {
    shard->plain.clear();
    bool had = false;
    for (const auto& channel : shard->channels) {
      auto w = wanted_.find(channel);
      if (w != wanted_.end()) {
        had = had || w->second.confirmed;
        w->second.confirmed = false;
      }
    }
    if (had) {
      log::warn("redis sharded subscription lost",
                {{"address", shard->address.str()}, {"reason", reason}});
    }
    // Reconnects to the same node; the reconciliation moves the channels
    // once the map, read again now, names another master for their slots
    // (a failover, or MOVED for a slot that left: hiredis closes on it).
    redis_.refreshSlots();
  };
  shard->conn = std::make_unique<RedisConnection>(loop_, address, RedisConnection::Options{},
                                                  std::move(events));
  shard->conn->start();
  return *shard;
}

void RedisShardedSubscriber::place(const std::string& channel, Wanted& w) {
  auto address = redis_.masterOf(w.slot);
  if (!address)
    return;  // the next reconciliation tries again
  Shard& shard = shardAt(*address);
  w.shard = &shard;
  w.confirmed = false;
  shard.channels.insert(channel);
  if (shard.ac())
    sendSubscribe(shard, channel);
  // else: the connection's `created` sends it.
}

void RedisShardedSubscriber::unplace(const std::string& channel, Wanted& w) {
  Shard* shard = w.shard;
  w.shard = nullptr;
  w.confirmed = false;
  if (!shard)
    return;
  shard->channels.erase(channel);
  auto plain = shard->plain.find(channel);
  redisAsyncContext* ac = shard->ac();
  if (!ac || plain == shard->plain.end() || plain->second)
    return;
  sendUnmatched(ac, "SUNSUBSCRIBE", channel);
  // UNSUBSCRIBE has no callback of its own in hiredis: its reply reaches the
  // channel's, which then forgets the name.
  const char* argv[] = {"UNSUBSCRIBE", channel.c_str()};
  size_t lens[] = {11, channel.size()};
  redisAsyncCommandArgv(ac, nullptr, nullptr, 2, argv, lens);
  plain->second = true;
}

void RedisShardedSubscriber::sendSubscribe(Shard& shard, const std::string& channel) {
  redisAsyncContext* ac = shard.ac();
  if (!ac)
    return;
  auto [plain, fresh] = shard.plain.try_emplace(channel, false);
  if (!fresh)
    return;  // subscribed already, or unsubscribing: its reply subscribes again
  sendPlain(ac, "SUBSCRIBE", channel, &shard);
  sendUnmatched(ac, "SSUBSCRIBE", channel);
}

void RedisShardedSubscriber::handle(Shard& shard, const RedisReply& reply) {
  if (reply.type != RedisReply::Type::Array || reply.elements.size() < 2)
    return;
  const std::string& kind = reply.elements[0].str;
  const std::string& channel = reply.elements[1].str;
  auto w = wanted_.find(channel);
  bool here = w != wanted_.end() && w->second.shard == &shard;
  if (kind == "smessage" && reply.elements.size() == 3) {
    if (here && on_message_)
      guarded("redis message", [&] { on_message_(channel, reply.elements[2].str); });
  } else if (kind == "ssubscribe") {
    if (!here)
      return;
    shard.conn->resetBackoff();
    w->second.confirmed = true;
    if (on_subscribed_)
      guarded("redis subscribed", [&] { on_subscribed_(channel); });
  } else if (kind == "sunsubscribe") {
    // Not asked for (ours leave `channels` first): the node no longer serves
    // the channel's slot. Read the map again; the reconciliation moves it.
    if (here && shard.channels.count(channel)) {
      log::info("redis sharded channel moved", {{"address", shard.address.str()}});
      unplace(channel, w->second);
      redis_.refreshSlots();
    }
  } else if (kind == "unsubscribe") {
    shard.plain.erase(channel);
    if (shard.channels.count(channel))
      sendSubscribe(shard, channel);  // wanted here again meanwhile
  }
}

void RedisShardedSubscriber::reconcile() {
  for (auto& [channel, w] : wanted_) {
    auto address = redis_.masterOf(w.slot);
    if (!w.shard) {
      place(channel, w);
    } else if (address && address->str() != w.shard->address.str()) {
      unplace(channel, w);
      place(channel, w);
    }
  }
}

}  // namespace jobcast
