#pragma once
// A private redis-server child for a laptop or a one-box install: unix socket in
// the data directory, AOF on, restarted if it dies, stopped with jobcastd.

#include <sys/types.h>

#include <chrono>
#include <string>

#include "core/loop.h"
#include "core/result.h"

namespace jobcast {

class EmbeddedRedis {
 public:
  EmbeddedRedis(Loop& loop, std::string data_dir, std::string binary);
  ~EmbeddedRedis();
  EmbeddedRedis(const EmbeddedRedis&) = delete;
  EmbeddedRedis& operator=(const EmbeddedRedis&) = delete;

  // Starts the child and waits (blocking, up to `timeout`) until it answers PING.
  Result<bool> start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM, then SIGKILL after a grace period. Safe to call twice.
  void stop();

  // "unix:/path/redis.sock", for RedisClient.
  std::string address() const { return "unix:" + socket_path_; }
  pid_t pid() const { return pid_; }

 private:
  Result<bool> spawn();
  void watch();
  void onExit(int status);
  void scheduleRestart(std::chrono::milliseconds delay);

  Loop& loop_;
  std::string dir_;
  std::string binary_;
  std::string socket_path_;
  pid_t pid_ = -1;
  GSource* child_watch_ = nullptr;
  Timer restart_timer_;
  bool stopping_ = false;
};

}  // namespace jobcast
