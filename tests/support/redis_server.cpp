#include "tests/support/redis_server.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "tests/support/redis_cluster.h"

namespace jobcast::test {
namespace {

std::string render(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return std::string(r->str, r->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::string out;
      for (size_t i = 0; i < r->elements; ++i) {
        if (i)
          out += "\n";
        out += render(r->element[i]);
      }
      return out;
    }
    default:
      return "";
  }
}

}  // namespace

bool RedisServer::clusterMode() {
  const char* mode = std::getenv("JOBCAST_TEST_REDIS");
  return mode && std::string(mode) == "cluster";
}

RedisServer::RedisServer() {
  if (clusterMode()) {
    cluster_ = std::make_unique<RedisCluster>();
    port_ = cluster_->nodes().front().port;
    return;
  }
  port_ = freePort();
  start();
}

RedisServer::~RedisServer() {
  stop();
}

bool RedisServer::running() const {
  if (!cluster_)
    return pid_ > 0;
  for (const auto& n : cluster_->nodes()) {
    if (n.pid > 0)
      return true;
  }
  return false;
}

std::string RedisServer::address() const {
  return cluster_ ? cluster_->seeds() : "127.0.0.1:" + std::to_string(port_);
}

std::vector<std::string> RedisServer::seeds() const {
  if (!cluster_)
    return {address()};
  std::vector<std::string> out;
  for (const auto& n : cluster_->nodes())
    out.push_back(n.address());
  return out;
}

void RedisServer::start() {
  if (cluster_) {
    bool started = false;
    for (size_t i = 0; i < cluster_->nodes().size(); ++i) {
      started = started || cluster_->nodes()[i].pid <= 0;
      cluster_->start(i);
    }
    if (started)
      cluster_->waitOk();
    return;
  }
  if (pid_ > 0)
    return;
  pid_t pid = ::fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    std::string port = std::to_string(port_);
    std::string log = dir_.path() + "/redis.log";
    execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1", "--dir",
           dir_.path().c_str(), "--appendonly", "yes", "--appendfsync", "always", "--save", "",
           "--daemonize", "no", "--logfile", log.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0) << "fork failed";
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    timeval tv{0, 200000};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c && !c->err) {
      auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
      bool ok = reply && reply->type == REDIS_REPLY_STATUS;
      if (reply)
        freeReplyObject(reply);
      redisFree(c);
      if (ok)
        return;
    } else if (c) {
      redisFree(c);
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "redis-server exited at start (is it installed? deploy/install-deps.sh)";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "redis-server did not answer on port " << port_;
}

void RedisServer::stop() {
  if (cluster_) {
    // All six at once: one by one, the rest would fail the stopped masters over.
    for (const auto& n : cluster_->nodes()) {
      if (n.pid > 0) {
        ::kill(n.pid, SIGTERM);
        ::kill(n.pid, SIGCONT);
      }
    }
    for (size_t i = 0; i < cluster_->nodes().size(); ++i)
      cluster_->stop(i);
    return;
  }
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a paused server acts on SIGTERM only once it runs
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::kill() {
  if (cluster_) {
    for (const auto& n : cluster_->nodes()) {
      if (n.pid > 0)
        ::kill(n.pid, SIGKILL);
    }
    for (size_t i = 0; i < cluster_->nodes().size(); ++i)
      cluster_->kill(i);
    return;
  }
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void RedisServer::pause() {
  if (cluster_) {
    for (size_t i = 0; i < cluster_->nodes().size(); ++i)
      cluster_->pause(i);
    return;
  }
  if (pid_ > 0)
    ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (cluster_) {
    for (size_t i = 0; i < cluster_->nodes().size(); ++i)
      cluster_->resume(i);
    return;
  }
  if (pid_ > 0)
    ::kill(pid_, SIGCONT);
}

void RedisServer::restart() {
  stop();
  start();
}

std::string redisCommandAt(int port, const std::vector<std::string>& args, bool* error) {
  if (error)
    *error = false;
  timeval tv{2, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err) {
    if (c)
      redisFree(c);
    return "(connection failed)";
  }
  redisSetTimeout(c, tv);
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
  std::string out = reply ? render(reply) : "(no reply)";
  if (error && reply)
    *error = reply->type == REDIS_REPLY_ERROR;
  if (reply)
    freeReplyObject(reply);
  redisFree(c);
  return out;
}

std::string RedisServer::command(const std::vector<std::string>& args) const {
  if (cluster_)
    return cluster_->command(args);
  return redisCommandAt(port_, args);
}

}  // namespace jobcast::test
