#pragma once
// A real Redis Cluster for one test: 3 masters and 3 replicas, six
// redis-server processes on loopback, each with its own port, directory and
// AOF (fsync always). Created with `redis-cli --cluster create` and ready once
// every node says cluster_state:ok; stopped on destruction.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace jobcast::test {

// A free loopback port for a cluster-enabled redis-server: its cluster bus
// port (port + 10000) must exist and be free too.
int freeClusterPort();

class RedisCluster {
 public:
  RedisCluster();  // starts and creates the cluster; fails the test otherwise
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  struct Node {
    int port = 0;
    pid_t pid = -1;
    std::string dir;
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  };

  const std::vector<Node>& nodes() const { return nodes_; }
  // "127.0.0.1:P1,127.0.0.1:P2,..." of every node, for --redis-cluster.
  std::string seeds() const;
  // The YAML list of every node, for redis.cluster in a config file.
  std::string yamlList() const;

  // One command on one node (redis-cli semantics, as RedisServer::command).
  std::string command(size_t node, const std::vector<std::string>& args) const;
  // One command on the cluster, as `redis-cli -c` would: sent to a node and
  // following MOVED to the master of the key's slot (CLUSTERDOWN and TRYAGAIN
  // are retried for up to 10 s). Commands about the whole data set run on
  // every master and their replies are merged: KEYS lists every master's keys,
  // DBSIZE is the sum, INFO sums the counters of its `name:value` and
  // `name:k=v,...` lines, and FLUSHALL, FLUSHDB, SCRIPT and CONFIG answer the
  // first error or else the first master's reply. ASK (a slot being migrated)
  // is not followed: the tests never migrate slots. SCAN is not supported.
  std::string command(const std::vector<std::string>& args) const;
  // The indices of the running nodes that say role:master.
  std::vector<size_t> masters() const;
  // The index of the node that is master for `slot` now (-1 if none known).
  int masterOf(int slot) const;
  // A key (or channel) made of `base` and a number whose slot node `node`
  // serves now ("" if none found).
  std::string keyServedBy(int node, const std::string& base) const;
  // The index of a replica of the node `master` (-1 if none).
  int replicaOf(size_t master) const;
  // Waits until a replica of `master` has acknowledged everything the master
  // has written so far (its offset in the master's INFO replication); false
  // after `timeout`. Before a crash that must not lose a write: Redis
  // replicates asynchronously, and WAIT only covers its own connection's writes.
  bool waitReplicated(size_t master, std::chrono::milliseconds timeout) const;
  // SIGKILL and wait: a crash.
  void kill(size_t node);
  // SIGTERM and wait (a paused node is resumed so that it can act on it).
  void stop(size_t node);
  // Starts a stopped node again: same port, directory, AOF and nodes.conf.
  // Call waitOk() once every node that should run is started.
  void start(size_t node);
  void pause(size_t node);   // SIGSTOP
  void resume(size_t node);  // SIGCONT
  // Waits until every running node says cluster_state:ok, every replica is
  // in sync with its master (master_link_status:up), and every slot has a
  // live master; fails the test after `seconds`.
  void waitOk(int seconds = 30) const;

 private:
  void startNode(Node& node);

  TempDir dir_{"jobcast-cluster"};
  std::vector<Node> nodes_;
  // The node that answered the last keyed command: the next one tries it first.
  mutable size_t last_node_ = 0;
};

}  // namespace jobcast::test
