#pragma once
// One hiredis async context on the control loop that reconnects with
// exponential backoff: the one place that connects to Redis. RedisClient
// (commands) and RedisSubscriber (pub/sub) each own one and add what their
// mode needs. All methods and callbacks run on the loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "core/loop.h"
#include "core/redis.h"

struct redisAsyncContext;
struct redisReply;

namespace jobcast {

class RedisConnection {
 public:
  struct Options {
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{1000};
  };
  struct Events {
    // A new context exists (not yet connected): commands queued now are sent
    // once it connects (the subscriber's PSUBSCRIBE).
    std::function<void(redisAsyncContext*)> created;
    // The context connected.
    std::function<void(redisAsyncContext*)> connected;
    // The context failed or closed; a reconnect is scheduled after this.
    std::function<void(const char* reason)> lost;
  };

  // One hiredis context. Lives until hiredis is done with it (ac->data points
  // here); `owner` is cleared once its RedisConnection no longer wants
  // callbacks, so late replies are dropped.
  struct Link {
    RedisConnection* owner = nullptr;
    redisAsyncContext* ac = nullptr;
    GSource* source = nullptr;
    bool connected = false;
    // Bytes of commands handed to hiredis on this link (RedisClient uses it to
    // tell whether a failed command ever left this process).
    uint64_t queued_bytes = 0;
  };

  RedisConnection(Loop& loop, RedisAddress address, Options options, Events events);
  ~RedisConnection();  // frees the context; no callback runs after
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  void start() { connect(); }
  // The current link, or null between a loss and the next attempt.
  Link* link() const { return link_.get(); }
  // The link's owner when it is still wanted, else null (shutdown, or lost).
  static RedisConnection* ownerOf(const redisAsyncContext* ac);
  // The connection works again: the next loss waits backoff_min.
  void resetBackoff() { backoff_ = options_.backoff_min; }
  // Frees a connected context that stopped answering; `lost` follows.
  void abort();
  // Reads and handles whatever replies already wait on the socket, now (the
  // context may be lost meanwhile: read link() again).
  void readNow();
  uint64_t reconnects() const { return reconnects_; }
  const RedisAddress& address() const { return address_; }
  // Where the next connection attempt goes (the subscriber moving to another
  // cluster node after a loss).
  void setAddress(RedisAddress address) { address_ = std::move(address); }

 private:
  void connect();
  void drop(const char* reason);
  void scheduleReconnect();

  Loop& loop_;
  RedisAddress address_;
  Options options_;
  Events events_;
  std::shared_ptr<Link> link_;
  std::chrono::milliseconds backoff_;
  Timer reconnect_timer_;
  uint64_t reconnects_ = 0;
  bool stopping_ = false;
};

// A hiredis reply as a RedisReply.
RedisReply convertReply(const redisReply* reply);

}  // namespace jobcast
