#pragma once
// Sharded pub/sub on a Redis Cluster (SSUBSCRIBE, Redis 7): each channel is
// subscribed on the master that holds its slot, one connection per master,
// so a message published with SPUBLISH travels to its shard only instead of
// to every node of the cluster. Channels are added and dropped one at a time
// (a room's notify channel while the node cares about the room).
//
// Placement follows the client's slot map (RedisClient::masterOf): checked
// twice a second, so that after a failover or a slot migration each channel
// moves to the node that serves it now; a node that drops a channel by itself
// (its slot moved away) makes the map be read again. Each (re)subscription
// is reported per channel, so the user re-reads whatever it may have missed.
//
// hiredis 0.14 knows SUBSCRIBE and PSUBSCRIBE only: it treats any other push
// on a connection that is not in subscribe mode as a protocol error, and in
// subscribe mode hands a push to the callback registered for the channel's
// name. So each connection also SUBSCRIBEs to every channel's name in the
// plain namespace (nothing is published there) and to one channel held for
// the connection's life; SSUBSCRIBE and SUNSUBSCRIBE are written to the
// connection as they are (they have no reply of their own that hiredis
// would have to match). All methods and callbacks run on the loop thread.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/loop.h"
#include "core/redis.h"

struct redisAsyncContext;

namespace jobcast {

class RedisConnection;

class RedisShardedSubscriber {
 public:
  // channel, payload
  using MessageCallback = std::function<void(const std::string&, const std::string&)>;
  // The channel's subscription is (again) in place: messages from now on
  // arrive, any published before may have been missed.
  using SubscribedCallback = std::function<void(const std::string&)>;

  RedisShardedSubscriber(Loop& loop, RedisClient& redis);
  ~RedisShardedSubscriber();
  RedisShardedSubscriber(const RedisShardedSubscriber&) = delete;
  RedisShardedSubscriber& operator=(const RedisShardedSubscriber&) = delete;

  void onMessage(MessageCallback cb) { on_message_ = std::move(cb); }
  void onSubscribed(SubscribedCallback cb) { on_subscribed_ = std::move(cb); }

  void start();
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);

  size_t channels() const { return wanted_.size(); }
  // Channels whose subscription is in place now.
  size_t confirmed() const;
  // Connections to cluster nodes (one per master that served a channel).
  size_t connections() const { return shards_.size(); }

  struct Shard;
  // For the hiredis callback glue only.
  void handle(Shard& shard, const RedisReply& reply);

 private:
  struct Wanted {
    int slot = 0;
    Shard* shard = nullptr;  // where it is subscribed (or on its way); null: not placed
    bool confirmed = false;
  };
  Shard& shardAt(const RedisAddress& address);
  void place(const std::string& channel, Wanted& w);
  void unplace(const std::string& channel, Wanted& w);
  void sendSubscribe(Shard& shard, const std::string& channel);
  void reconcile();

  Loop& loop_;
  RedisClient& redis_;
  MessageCallback on_message_;
  SubscribedCallback on_subscribed_;
  std::map<std::string, std::unique_ptr<Shard>> shards_;  // by "host:port"
  std::map<std::string, Wanted> wanted_;
  Timer reconcile_timer_;
  bool started_ = false;
};

}  // namespace jobcast
