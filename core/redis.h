#pragma once
// Redis commands on the control loop: RedisClient, one connection
// (core/redis_connection.h: connect, reconnect with backoff) plus health checks
// and the outcome of every command. All methods and callbacks run on the loop thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/loop.h"
#include "core/result.h"

struct redisAsyncContext;

namespace jobcast {

class RedisConnection;

struct RedisReply {
  enum class Type { Nil, Status, Error, Integer, String, Array };
  Type type = Type::Nil;
  long long integer = 0;
  std::string str;  // Status, Error and String
  std::vector<RedisReply> elements;

  bool isNil() const { return type == Type::Nil; }
  bool isError() const { return type == Type::Error; }
};

// Where Redis is: "unix:/path", "/path", "host:port", "tcp://host:port" or "redis://host:port".
struct RedisAddress {
  std::string host;
  int port = 6379;
  std::string unix_path;  // set for unix sockets
  static Result<RedisAddress> parse(const std::string& text);
  std::string str() const;
};

class RedisClient {
 public:
  using Callback = std::function<void(Result<RedisReply>)>;
  using StateCallback = std::function<void(bool ready)>;

  struct Options {
    std::chrono::milliseconds ping_interval{500};
    std::chrono::milliseconds ping_timeout{1500};
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{1000};
  };

  RedisClient(Loop& loop, RedisAddress address, Options options);
  RedisClient(Loop& loop, RedisAddress address)
      : RedisClient(loop, std::move(address), Options{}) {}
  // Redis Cluster: `seeds` are some of its nodes (any role). The client reads
  // the slot map (CLUSTER SLOTS) from them, keeps one connection per master
  // (each one a RedisClient of its own) and sends each command to the master
  // of its first key's slot (core/redis_slots.h); commands without a key go to
  // any master. MOVED updates the map and resends, ASK resends once on the
  // named node after ASKING, CLUSTERDOWN/TRYAGAIN wait a moment and resend,
  // at most 5 times; then the command fails redis_unavailable (none of these
  // replies means it was applied). A lost master makes the map be read again
  // (four times a second until every master answers) so that commands follow
  // the promoted replica. The callback contract below holds unchanged, but
  // replies keep the order of their commands only within one master: commands
  // on slots of different masters (or without a key) may answer in any order.
  RedisClient(Loop& loop, std::vector<RedisAddress> seeds, Options options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  void start();
  // True while connected and the last health check answered.
  bool ready() const { return ready_; }
  void onStateChange(StateCallback cb) { state_callbacks_.push_back(std::move(cb)); }

  // Sends a command. The callback runs exactly once on the loop thread: with the
  // reply (which may itself be a Redis error reply), or with Error
  // "redis_unavailable" when the command never left this process (no
  // connection, or still unsent when the connection dropped): nothing was
  // applied; or "outcome_unknown" when it was sent and the connection dropped
  // or timed out before the reply: Redis may have applied it.
  void command(std::vector<std::string> args, Callback cb);

  const RedisAddress& address() const { return address_; }
  bool clustered() const { return cluster_ != nullptr; }
  // Where pub/sub may connect: the one address, or every cluster node known.
  std::vector<RedisAddress> nodeAddresses() const;
  // The node that serves `slot` (core/redis_slots.h): the one address, or the
  // master of the slot in the cluster's map as last read (nullopt while no
  // master is known, during a failover).
  std::optional<RedisAddress> masterOf(int slot) const;
  // A node said a slot is not where the map puts it (sharded pub/sub cannot
  // follow MOVED): the map is read again within a quarter of a second.
  void refreshSlots();
  uint64_t reconnects() const;
  // Called for every reply: proof of life for the health check.
  void noteReply() { last_reply_ = loop_.now(); }

 private:
  struct Cluster;
  void setReady(bool ready);
  void healthCheck();
  void send(const std::vector<std::string>& args, Callback cb);

  Loop& loop_;
  RedisAddress address_;
  Options options_;
  std::unique_ptr<RedisConnection> conn_;
  bool ready_ = false;
  Timer health_timer_;
  bool ping_outstanding_ = false;
  Clock::TimePoint ping_sent_;
  Clock::TimePoint last_reply_;
  std::vector<StateCallback> state_callbacks_;
  std::unique_ptr<Cluster> cluster_;
};

// A Lua script kept in its own .lua file, run by EVALSHA with a fallback to
// EVAL when the server does not know it yet (after a restart or flush).
class RedisScript {
 public:
  explicit RedisScript(std::string source);
  void run(RedisClient& client, const std::vector<std::string>& keys,
           const std::vector<std::string>& args, RedisClient::Callback cb) const;
  const std::string& sha1() const { return sha1_; }

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace jobcast
