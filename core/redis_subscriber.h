#pragma once
// A dedicated hiredis connection in subscribe mode (hiredis 0.14 has no RESP3, so
// pub/sub cannot share a command connection). Re-subscribes after every
// reconnect and says so, so that users can re-read whatever they may have
// missed meanwhile. Connecting and reconnecting is RedisConnection's
// (core/redis_connection.h). All callbacks run on the loop thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/redis.h"

namespace jobcast {

class RedisConnection;

class RedisSubscriber {
 public:
  // channel, payload (for PSUBSCRIBE matches: the channel that matched).
  using MessageCallback = std::function<void(const std::string&, const std::string&)>;

  RedisSubscriber(Loop& loop, RedisAddress address)
      : RedisSubscriber(loop, std::vector<RedisAddress>{std::move(address)}) {}
  // Several addresses (the nodes of a Redis Cluster, where a PUBLISH reaches
  // every node): one connection to the first, moving on to the next after
  // each loss.
  RedisSubscriber(Loop& loop, std::vector<RedisAddress> addresses);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  // Patterns to PSUBSCRIBE to; set before start().
  void addPattern(std::string pattern) { patterns_.push_back(std::move(pattern)); }
  void onMessage(MessageCallback cb) { on_message_ = std::move(cb); }
  // Called each time the subscription is (re)established.
  void onSubscribed(std::function<void()> cb) { on_subscribed_ = std::move(cb); }

  void start();
  bool subscribed() const { return subscribed_; }

  // For the hiredis callback glue only.
  void handlePublic(const RedisReply& reply);

 private:
  std::vector<RedisAddress> addresses_;
  size_t current_ = 0;
  std::vector<std::string> patterns_;
  MessageCallback on_message_;
  std::function<void()> on_subscribed_;
  std::unique_ptr<RedisConnection> conn_;
  bool subscribed_ = false;
};

}  // namespace jobcast
