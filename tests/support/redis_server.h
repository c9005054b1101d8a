#pragma once
// A real redis-server for one test: its own port, its own directory, AOF on with
// fsync on every write (so a SIGKILL loses nothing that was acknowledged).

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace jobcast::test {

// Runs one command on the redis-server at 127.0.0.1:`port` with redis-cli
// semantics and returns the raw reply text (strings as-is, integers as
// digits, arrays joined by newlines; 2 s to connect and to answer).
std::string redisCommandAt(int port, const std::vector<std::string>& args);

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();

  void start();    // waits until it answers PING; fails the test otherwise
  void stop();     // SIGTERM and wait
  void kill();     // SIGKILL and wait: a crash
  void restart();  // same port, same data
  void pause();    // SIGSTOP: connections stay open, nothing is read or answered
  void resume();   // SIGCONT
  bool running() const { return pid_ > 0; }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_.path(); }

  // Runs one command with redis-cli semantics and returns the raw reply text
  // (strings as-is, integers as digits, arrays joined by newlines).
  std::string command(const std::vector<std::string>& args) const;

 private:
  TempDir dir_{"jobcast-redis"};
  int port_;
  pid_t pid_ = -1;
};

}  // namespace jobcast::test
