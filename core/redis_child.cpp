#include "core/redis_child.h"

#include "core/secrets.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "core/log.h"

namespace jobcast {
namespace {

bool answersPing(const std::string& socket_path) {
  timeval tv{0, 200000};
  redisContext* c = redisConnectUnixWithTimeout(socket_path.c_str(), tv);
  if (!c)
    return false;
  bool ok = false;
  if (!c->err) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply)
      freeReplyObject(reply);
  }
  redisFree(c);
  return ok;
}

std::string socketPathFor(const std::string& dir) {
  std::string path = dir + "/redis.sock";
  if (path.size() < 100)
    return path;
  // sun_path holds ~108 bytes: a deep data directory gets a short private path.
  return "/tmp/jobcast-redis-" + std::to_string(std::hash<std::string>{}(dir)) + ".sock";
}

}  // namespace

EmbeddedRedis::EmbeddedRedis(Loop& loop, std::string data_dir, std::string binary)
    : loop_(loop),
      dir_(std::filesystem::absolute(data_dir).lexically_normal().string() + "/redis"),
      binary_(std::move(binary)) {
  socket_path_ = socketPathFor(dir_);
}

EmbeddedRedis::~EmbeddedRedis() {
  stop();
}

Result<bool> EmbeddedRedis::spawn() {
  if (auto made = makePrivateDirectory(dir_); !made)
    return Error{"redis_child", made.error().message};
  ::unlink(socket_path_.c_str());
  std::vector<std::string> args = {binary_,
                                   "--port",
                                   "0",
                                   "--unixsocket",
                                   socket_path_,
                                   "--unixsocketperm",
                                   "700",
                                   "--dir",
                                   dir_,
                                   "--appendonly",
                                   "yes",
                                   "--appendfsync",
                                   "everysec",
                                   "--save",
                                   "",
                                   "--daemonize",
                                   "no",
                                   "--logfile",
                                   dir_ + "/redis.log"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  GError* err = nullptr;
  GPid pid = 0;
  gboolean ok = g_spawn_async(
      nullptr, argv.data(), nullptr,
      static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                               G_SPAWN_STDOUT_TO_DEV_NULL),
      [](gpointer) {
        // Die with us, even on SIGKILL: no orphaned redis-server holding the data dir.
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        // Its AOF holds chat, names and the audit trail: created 0600, never
        // readable by others.
        ::umask(077);
      },
      nullptr, &pid, &err);
  if (!ok) {
    std::string message = err ? err->message : "spawn failed";
    if (err)
      g_error_free(err);
    return Error{"redis_child", "cannot start " + binary_ + ": " + message};
  }
  pid_ = pid;
  log::info("redis child started", {{"pid", pid_}, {"socket", socket_path_}});
  watch();
  return true;
}

void EmbeddedRedis::watch() {
  child_watch_ = g_child_watch_source_new(pid_);
  GChildWatchFunc on_exit = [](GPid, gint status, gpointer self) {
    static_cast<EmbeddedRedis*>(self)->onExit(status);
  };
  // GLib's documented way to set a child-watch callback on a GSource.
  g_source_set_callback(child_watch_, G_SOURCE_FUNC(on_exit), this, nullptr);
  loop_.attach(child_watch_);
}

void EmbeddedRedis::onExit(int status) {
  g_spawn_close_pid(pid_);
  log::warn("redis child exited", {{"pid", pid_},
                                   {"status", WIFEXITED(status) ? WEXITSTATUS(status) : -1},
                                   {"signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0}});
  pid_ = -1;
  if (child_watch_) {
    g_source_unref(child_watch_);  // the context drops it after this callback
    child_watch_ = nullptr;
  }
  if (stopping_)
    return;
  // Supervise: bring it back; RedisClient reconnects by itself.
  scheduleRestart(std::chrono::milliseconds(300));
}

void EmbeddedRedis::scheduleRestart(std::chrono::milliseconds delay) {
  restart_timer_.start(loop_, delay, [this] {
    if (auto r = spawn(); !r) {
      log::error("redis child restart failed", {{"error", r.error().message}});
      scheduleRestart(std::chrono::seconds(1));
    }
    return false;
  });
}

Result<bool> EmbeddedRedis::start(std::chrono::milliseconds timeout) {
  auto r = spawn();
  if (!r)
    return r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (answersPing(socket_path_))
      return true;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Error{"redis_child", "redis-server exited at start; see " + dir_ + "/redis.log"};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Error{"redis_child", "redis-server did not answer within the start timeout"};
}

void EmbeddedRedis::stop() {
  stopping_ = true;
  restart_timer_.cancel();
  if (child_watch_) {
    g_source_destroy(child_watch_);
    g_source_unref(child_watch_);
    child_watch_ = nullptr;
  }
  if (pid_ <= 0)
    return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  log::info("redis child stopped", {{"pid", pid_}});
  pid_ = -1;
  ::unlink(socket_path_.c_str());
}

}  // namespace jobcast
