#include "tests/support/redis_cluster.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/redis_slots.h"
#include "tests/support/redis_server.h"

namespace jobcast::test {
namespace {

bool portFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A free port whose cluster bus port (port + 10000) is free too. Both lie
// below the kernel's ephemeral range (32768 and up here and by default):
// there, a port seen free could be handed to another test's listener or
// outgoing connection before redis-server binds it.
int freeClusterPort(const std::vector<RedisCluster::Node>& taken) {
  static std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(10000, 22767);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int port = pick(random);
    if (!portFree(port) || !portFree(port + 10000))
      continue;
    bool used = false;
    for (const auto& n : taken)
      used = used || n.port == port || n.port + 10000 == port || n.port == port + 10000;
    if (!used)
      return port;
  }
  ADD_FAILURE() << "no free port pair for a cluster node";
  return 0;
}

// Runs a command line to completion; its output goes to `log`.
int run(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* f = std::freopen(log.c_str(), "a", stdout);
    (void)f;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

}  // namespace

int freeClusterPort() {
  return freeClusterPort(std::vector<RedisCluster::Node>{});
}

RedisCluster::RedisCluster() {
  nodes_.resize(6);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].port = freeClusterPort(nodes_);
    nodes_[i].dir = dir_.path() + "/node" + std::to_string(i);
    ::mkdir(nodes_[i].dir.c_str(), 0700);
    startNode(nodes_[i]);
  }
  // Bounded: redis-cli waits for the nodes to meet without a limit of its own.
  std::vector<std::string> create{"timeout", "30", "redis-cli", "--cluster", "create"};
  for (const auto& n : nodes_)
    create.push_back(n.address());
  create.insert(create.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  int rc = run(create, dir_.path() + "/create.log");
  if (rc != 0) {
    // What redis-cli and each node said: the directory goes with the test.
    auto tail = [](const std::string& path) {
      std::ifstream in(path);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      return text.size() > 1500 ? text.substr(text.size() - 1500) : text;
    };
    std::string logs = "--- create.log\n" + tail(dir_.path() + "/create.log");
    for (const auto& n : nodes_)
      logs += "--- node " + n.address() + "\n" + tail(n.dir + "/redis.log");
    ADD_FAILURE() << "redis-cli --cluster create failed (exit " << rc << ")\n" << logs;
    return;
  }
  waitOk();
}

RedisCluster::~RedisCluster() {
  for (auto& n : nodes_) {
    if (n.pid > 0) {
      ::kill(n.pid, SIGTERM);
      ::kill(n.pid, SIGCONT);  // a paused node acts on SIGTERM only once it runs
    }
  }
  for (auto& n : nodes_) {
    if (n.pid > 0) {
      int status = 0;
      ::waitpid(n.pid, &status, 0);
      n.pid = -1;
    }
  }
}

void RedisCluster::startNode(Node& node) {
  pid_t pid = ::fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string port = std::to_string(node.port);
    std::string log = node.dir + "/redis.log";
    execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--dir",
           node.dir.c_str(), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
           "--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0",
           // A replica syncs at once instead of after the default 5 s wait for
           // other replicas to share the transfer: a test's cluster is ready sooner.
           "--repl-diskless-sync-delay", "0", "--appendonly", "yes", "--appendfsync", "always",
           "--save", "", "--daemonize", "no", "--logfile", log.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0) << "fork failed";
  node.pid = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (command(static_cast<size_t>(&node - nodes_.data()), {"PING"}) == "PONG")
      return;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      node.pid = -1;
      FAIL() << "redis-server exited at start (is it installed? deploy/install-deps.sh)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "redis-server did not answer on port " << node.port;
}

std::string RedisCluster::seeds() const {
  std::string out;
  for (const auto& n : nodes_)
    out += (out.empty() ? "" : ",") + n.address();
  return out;
}

std::string RedisCluster::yamlList() const {
  std::string out = "[";
  for (const auto& n : nodes_)
    out += (out.size() > 1 ? ", \"" : "\"") + n.address() + "\"";
  return out + "]";
}

std::string RedisCluster::command(size_t node, const std::vector<std::string>& args) const {
  return redisCommandAt(nodes_.at(node).port, args);
}

std::string RedisCluster::keyServedBy(int node, const std::string& base) const {
  for (int i = 0; i < 100000; ++i) {
    std::string key = base + std::to_string(i);
    if (masterOf(keySlot(key)) == node)
      return key;
  }
  return "";
}

namespace {

bool isNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// `calls=3,usec=9` + `calls=2,usec=4` -> `calls=5,usec=13`; non-numbers kept from `a`.
std::string sumFields(const std::string& a, const std::string& b) {
  if (isNumber(a) && isNumber(b))
    return std::to_string(std::stoll(a) + std::stoll(b));
  std::istringstream left(a), right(b);
  std::string out, l, r;
  while (std::getline(left, l, ',')) {
    if (!std::getline(right, r, ','))
      r.clear();
    auto le = l.find('='), re = r.find('=');
    if (le != std::string::npos && re != std::string::npos && l.substr(0, le) == r.substr(0, re) &&
        isNumber(l.substr(le + 1)) && isNumber(r.substr(re + 1)))
      l = l.substr(0, le + 1) +
          std::to_string(std::stoll(l.substr(le + 1)) + std::stoll(r.substr(re + 1)));
    out += (out.empty() ? "" : ",") + l;
  }
  return out;
}

// INFO of several masters as one: counters summed, other values from the first.
std::string mergeInfo(const std::vector<std::string>& replies) {
  std::vector<std::string> order;
  std::map<std::string, std::string> values;
  for (const auto& reply : replies) {
    std::istringstream lines(reply);
    std::string line;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      auto colon = line.find(':');
      std::string name = colon == std::string::npos ? line : line.substr(0, colon);
      std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
      auto [at, fresh] = values.emplace(name, value);
      if (fresh)
        order.push_back(name);
      else if (colon != std::string::npos && !name.empty() && name[0] != '#')
        at->second = sumFields(at->second, value);
    }
  }
  std::string out;
  for (const auto& name : order) {
    const std::string& value = values[name];
    out += name + (value.empty() && name.rfind('#', 0) == 0 ? "" : ":" + value) + "\r\n";
  }
  return out;
}

}  // namespace

std::vector<size_t> RedisCluster::masters() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid > 0 &&
        command(i, {"INFO", "replication"}).find("role:master") != std::string::npos)
      out.push_back(i);
  }
  return out;
}

std::string RedisCluster::command(const std::vector<std::string>& args) const {
  std::string name = args.empty() ? "" : args[0];
  for (auto& c : name)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  static const std::set<std::string> kEveryMaster = {"FLUSHALL", "FLUSHDB", "KEYS",  "DBSIZE",
                                                     "INFO",     "SCRIPT",  "CONFIG"};
  if (kEveryMaster.count(name)) {
    std::vector<std::string> replies;
    std::string first_error;
    for (size_t i : masters()) {
      bool error = false;
      replies.push_back(redisCommandAt(nodes_[i].port, args, &error));
      if (error && first_error.empty())
        first_error = replies.back();
    }
    if (!first_error.empty())
      return first_error;
    if (name == "INFO")
      return mergeInfo(replies);
    if (name == "DBSIZE") {
      long long sum = 0;
      for (const auto& r : replies)
        sum += std::atoll(r.c_str());
      return std::to_string(sum);
    }
    if (name == "KEYS") {
      std::string out;
      for (const auto& r : replies) {
        if (!r.empty())
          out += (out.empty() ? "" : "\n") + r;
      }
      return out;
    }
    return replies.empty() ? "(connection failed)" : replies.front();
  }

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t node = last_node_;
  size_t unreachable = 0;
  std::string reply;
  while (true) {
    bool error = false;
    reply = nodes_.at(node).pid > 0 ? redisCommandAt(nodes_[node].port, args, &error)
                                    : "(connection failed)";
    bool retry = false;
    if (error && reply.rfind("MOVED ", 0) == 0) {
      // MOVED <slot> <host>:<port>
      int port = std::atoi(reply.c_str() + reply.rfind(':') + 1);
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].port == port)
          node = i;
      }
      retry = true;
    } else if (error && (reply.rfind("CLUSTERDOWN", 0) == 0 || reply.rfind("TRYAGAIN", 0) == 0)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      retry = true;
    } else if (!error && (reply == "(connection failed)" || reply == "(no reply)")) {
      node = (node + 1) % nodes_.size();  // a stopped node: ask the next one
      retry = ++unreachable < nodes_.size();
    }
    if (!retry || std::chrono::steady_clock::now() > deadline)
      break;
  }
  last_node_ = node;
  return reply;
}

int RedisCluster::masterOf(int slot) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].pid <= 0)
      continue;
    // CLUSTER SLOTS rendered flat: start, end, host, port, id, (replica host, port, id)...
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", nodes_[i].port, tv);
    if (!c || c->err) {
      if (c)
        redisFree(c);
      continue;
    }
    auto* r = static_cast<redisReply*>(redisCommand(c, "CLUSTER SLOTS"));
    int found = -1;
    if (r && r->type == REDIS_REPLY_ARRAY) {
      for (size_t k = 0; k < r->elements; ++k) {
        const redisReply* range = r->element[k];
        if (range->elements < 3 || slot < range->element[0]->integer ||
            slot > range->element[1]->integer)
          continue;
        long long port = range->element[2]->element[1]->integer;
        for (size_t j = 0; j < nodes_.size(); ++j) {
          if (nodes_[j].port == port && nodes_[j].pid > 0)
            found = static_cast<int>(j);
        }
      }
    }
    if (r)
      freeReplyObject(r);
    redisFree(c);
    if (found >= 0)
      return found;
  }
  return -1;
}

bool RedisCluster::waitReplicated(size_t master, std::chrono::milliseconds timeout) const {
  auto number = [](const std::string& text, const std::string& field, size_t from) -> long long {
    size_t at = text.find(field, from);
    return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + field.size());
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The master's offset now: what the replica must reach.
  long long wanted = number(command(master, {"INFO", "replication"}), "master_repl_offset:", 0);
  while (wanted >= 0 && std::chrono::steady_clock::now() < deadline) {
    std::string info = command(master, {"INFO", "replication"});
    // "slave0:ip=...,port=...,state=online,offset=N,lag=0"
    for (size_t at = info.find("\nslave"); at != std::string::npos;
         at = info.find("\nslave", at + 1)) {
      if (number(info, "offset=", at) >= wanted)
        return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

int RedisCluster::replicaOf(size_t master) const {
  std::string id = command(master, {"CLUSTER", "MYID"});
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i == master || nodes_[i].pid <= 0)
      continue;
    std::string info = command(i, {"INFO", "replication"});
    if (info.find("role:slave") == std::string::npos)
      continue;
    std::string nodes = command(i, {"CLUSTER", "NODES"});
    std::istringstream lines(nodes);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("myself") != std::string::npos && line.find(id) != std::string::npos)
        return static_cast<int>(i);
    }
  }
  return -1;
}

void RedisCluster::stop(size_t node) {
  Node& n = nodes_.at(node);
  if (n.pid <= 0)
    return;
  ::kill(n.pid, SIGTERM);
  ::kill(n.pid, SIGCONT);  // a paused server acts on SIGTERM only once it runs
  int status = 0;
  ::waitpid(n.pid, &status, 0);
  n.pid = -1;
}

void RedisCluster::start(size_t node) {
  if (nodes_.at(node).pid <= 0)
    startNode(nodes_[node]);
}

void RedisCluster::pause(size_t node) {
  if (nodes_.at(node).pid > 0)
    ::kill(nodes_[node].pid, SIGSTOP);
}

void RedisCluster::resume(size_t node) {
  if (nodes_.at(node).pid > 0)
    ::kill(nodes_[node].pid, SIGCONT);
}

void RedisCluster::kill(size_t node) {
  Node& n = nodes_.at(node);
  if (n.pid <= 0)
    return;
  ::kill(n.pid, SIGKILL);
  int status = 0;
  ::waitpid(n.pid, &status, 0);
  n.pid = -1;
}

void RedisCluster::waitOk(int seconds) const {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    bool ok = true;
    for (size_t i = 0; i < nodes_.size() && ok; ++i) {
      if (nodes_[i].pid <= 0)
        continue;
      ok = command(i, {"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
      // A replica is only a failover target once it holds its master's data.
      std::string replication = command(i, {"INFO", "replication"});
      if (ok && replication.find("role:slave") != std::string::npos)
        ok = replication.find("master_link_status:up") != std::string::npos;
    }
    for (int slot : {0, 8000, 16383})
      ok = ok && masterOf(slot) >= 0;
    if (ok)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL() << "the Redis Cluster did not reach cluster_state:ok";
}

}  // namespace jobcast::test
