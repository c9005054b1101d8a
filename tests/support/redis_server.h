#pragma once
// A real redis-server for one test: its own port, its own directory, AOF on with
// fsync on every write (so a SIGKILL loses nothing that was acknowledged).
//
// With JOBCAST_TEST_REDIS=cluster in the environment it is a real Redis
// Cluster instead (tests/support/redis_cluster.h: 3 masters, 3 replicas),
// behind the same interface, so that every test written against one Redis
// also runs against a cluster: start/stop/kill/pause/resume act on all six
// processes, restart keeps their data and waits for cluster_state:ok,
// command() goes to the master of the key's slot, and address() is the list of
// seeds that Jobcastd hands to jobcastd as JOBCAST_REDIS_CLUSTER.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace jobcast::test {

class RedisCluster;

// Runs one command on the redis-server at 127.0.0.1:`port` with redis-cli
// semantics and returns the raw reply text (strings as-is, integers as
// digits, arrays joined by newlines; 2 s to connect and to answer).
// `error`, when given, says whether the reply was a Redis error.
std::string redisCommandAt(int port, const std::vector<std::string>& args, bool* error = nullptr);

class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // True when JOBCAST_TEST_REDIS=cluster: every RedisServer is a cluster.
  static bool clusterMode();
  // How room scripts announce a new event on this server: PUBLISH, or
  // SPUBLISH (sharded) on a cluster (rooms/notifications.h).
  static const char* notifyCommand() { return clusterMode() ? "SPUBLISH" : "PUBLISH"; }

  void
  start();      // waits until it answers PING (cluster: cluster_state:ok); fails the test otherwise
  void stop();  // SIGTERM and wait
  void kill();  // SIGKILL and wait: a crash
  void restart();  // same port, same data
  void pause();    // SIGSTOP: connections stay open, nothing is read or answered
  void resume();   // SIGCONT
  bool running() const;

  // The port of the one server, or of the cluster's first node.
  int port() const { return port_; }
  // "127.0.0.1:port", or in cluster mode every node: "127.0.0.1:P1,127.0.0.1:P2,...".
  std::string address() const;
  // The addresses to connect to: the one server, or every cluster node.
  std::vector<std::string> seeds() const;
  const std::string& dir() const { return dir_.path(); }
  // The cluster in cluster mode, else null.
  RedisCluster* cluster() const { return cluster_.get(); }

  // Runs one command with redis-cli semantics and returns the raw reply text
  // (strings as-is, integers as digits, arrays joined by newlines). In
  // cluster mode as `redis-cli -c` (RedisCluster::command says how commands
  // without a key are spread and their replies merged).
  std::string command(const std::vector<std::string>& args) const;

 private:
  TempDir dir_{"jobcast-redis"};
  std::unique_ptr<RedisCluster> cluster_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace jobcast::test
