#include "core/redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>

#include "core/guard.h"
#include "core/log.h"
#include "core/redis_connection.h"

namespace jobcast {

namespace {

struct Pending {
  RedisClient* client;
  RedisClient::Callback cb;
  uint64_t end = 0;  // Link::queued_bytes once this command was queued
};

// The size of a command in the Redis protocol, as hiredis writes it.
uint64_t wireSize(const std::vector<std::string>& args) {
  // "*<argc>\r\n", then "$<len>\r\n<arg>\r\n" for each argument.
  auto header = [](size_t n) { return 1 + std::to_string(n).size() + 2; };
  uint64_t size = header(args.size());
  for (const auto& a : args)
    size += header(a.size()) + a.size() + 2;
  return size;
}

// The command certainly did not reach Redis: nothing was applied.
Error unavailable() {
  return Error{"redis_unavailable", "Redis is not reachable; nothing was stored"};
}

// The command was sent and the connection was lost (or timed out) before the
// reply: Redis may or may not have applied it.
Error outcomeUnknown() {
  return Error{"outcome_unknown",
               "Redis went away after the request was sent: it may or may not have been "
               "stored. Retrying is safe for idempotent requests and for requests that "
               "carry a client_id"};
}

void onReply(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
  if (!pending || !RedisConnection::ownerOf(ac))
    return;  // shutting down: drop quietly
  auto* link = static_cast<RedisConnection::Link*>(ac->data);
  if (reply)
    pending->client->noteReply();
  // Domain code parses replies in these callbacks: an exception stops here.
  guarded("redis reply", [&] {
    if (!reply) {
      // hiredis fails every queued command at once; those whose bytes are all
      // still in its output buffer were never written to the socket.
      uint64_t unsent = ac->c.obuf ? sdslen(ac->c.obuf) : 0;
      uint64_t written = link->queued_bytes >= unsent ? link->queued_bytes - unsent : 0;
      pending->cb(pending->end <= written ? outcomeUnknown() : unavailable());
    } else {
      pending->cb(convertReply(static_cast<redisReply*>(reply)));
    }
  });
}

}  // namespace

Result<RedisAddress> RedisAddress::parse(const std::string& text) {
  RedisAddress a;
  std::string rest = text;
  for (const char* scheme : {"tcp://", "redis://"}) {
    if (rest.rfind(scheme, 0) == 0)
      rest = rest.substr(std::char_traits<char>::length(scheme));
  }
  if (rest.rfind("unix:", 0) == 0) {
    a.unix_path = rest.substr(5);
    if (a.unix_path.rfind("//", 0) == 0)
      a.unix_path = a.unix_path.substr(2);
  } else if (!rest.empty() && rest[0] == '/') {
    a.unix_path = rest;
  } else {
    auto colon = rest.rfind(':');
    a.host = colon == std::string::npos ? rest : rest.substr(0, colon);
    if (colon != std::string::npos) {
      std::string port = rest.substr(colon + 1);
      char* end = nullptr;
      long p = std::strtol(port.c_str(), &end, 10);
      if (port.empty() || *end || p <= 0 || p > 65535) {
        return Error{"bad_address", "bad Redis port in '" + text + "'"};
      }
      a.port = static_cast<int>(p);
    }
    if (a.host.empty())
      return Error{"bad_address", "no host in Redis address '" + text + "'"};
  }
  if (!a.unix_path.empty() && a.unix_path.size() > 100) {
    return Error{"bad_address", "unix socket path too long: " + a.unix_path};
  }
  return a;
}

std::string RedisAddress::str() const {
  return unix_path.empty() ? host + ":" + std::to_string(port) : "unix:" + unix_path;
}

RedisClient::RedisClient(Loop& loop, RedisAddress address, Options options)
    : loop_(loop), address_(address), options_(options) {
  RedisConnection::Events events;
  events.connected = [this](redisAsyncContext*) {
    // Ready only once a command round-trips.
    command({"PING"}, [this](Result<RedisReply> r) {
      if (r.ok() && !r->isError()) {
        conn_->resetBackoff();
        setReady(true);
      }
    });
  };
  events.lost = [this](const char* reason) {
    if (ready_)
      log::warn("redis connection lost", {{"address", address_.str()}, {"reason", reason}});
    setReady(false);
  };
  conn_ = std::make_unique<RedisConnection>(
      loop, std::move(address), RedisConnection::Options{options.backoff_min, options.backoff_max},
      std::move(events));
}

RedisClient::~RedisClient() {
  health_timer_.cancel();
}

uint64_t RedisClient::reconnects() const {
  return conn_->reconnects();
}

void RedisClient::start() {
  conn_->start();
  health_timer_.start(loop_, options_.ping_interval, [this] {
    healthCheck();
    return true;
  });
}

void RedisClient::setReady(bool ready) {
  ping_outstanding_ = false;
  if (ready == ready_)
    return;
  ready_ = ready;
  if (ready)
    log::info("redis ready", {{"address", address_.str()}});
  for (auto& cb : state_callbacks_)
    cb(ready);
}

void RedisClient::healthCheck() {
  RedisConnection::Link* link = conn_->link();
  if (!link || !link->connected || !link->ac)
    return;
  auto now = loop_.now();
  if (ping_outstanding_) {
    // Hung only if nothing at all came back for the whole timeout: under load
    // our own loop reads late, and replies still flowing prove Redis alive.
    if (now - ping_sent_ > options_.ping_timeout && now - last_reply_ > options_.ping_timeout) {
      // A loop that was busy for longer than the timeout has not looked at
      // the socket yet: replies waiting there prove Redis alive. (Dropping a
      // live connection under load only adds reconnects to the overload.)
      conn_->readNow();
      if (!ping_outstanding_ || loop_.now() - last_reply_ <= options_.ping_timeout)
        return;
      link = conn_->link();
      if (!link || !link->ac)
        return;  // lost while reading
      // The server stopped answering without closing the socket (paused, partitioned).
      // Freeing fails the pending commands and runs the disconnect callback.
      log::warn("redis health check timed out", {{"address", address_.str()}});
      conn_->abort();
    }
    return;
  }
  ping_outstanding_ = true;
  ping_sent_ = now;
  command({"PING"}, [this](Result<RedisReply> r) {
    ping_outstanding_ = false;
    if (r.ok() && !r->isError())
      setReady(true);
  });
}

void RedisClient::command(std::vector<std::string> args, Callback cb) {
  RedisConnection::Link* link = conn_->link();
  if (!link || !link->ac || !link->connected) {
    loop_.post([cb = std::move(cb)] { cb(unavailable()); });
    return;
  }
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  uint64_t end = link->queued_bytes + wireSize(args);
  auto* pending = new Pending{this, std::move(cb), end};
  int rc = redisAsyncCommandArgv(link->ac, onReply, pending, static_cast<int>(argv.size()),
                                 argv.data(), lens.data());
  if (rc == REDIS_OK) {
    link->queued_bytes = end;
  } else {
    std::unique_ptr<Pending> owned(pending);
    loop_.post([cb = std::move(owned->cb)] { cb(unavailable()); });
  }
}

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  char hex[SHA_DIGEST_LENGTH * 2 + 1];
  for (int i = 0; i < SHA_DIGEST_LENGTH; ++i)
    std::snprintf(hex + i * 2, 3, "%02x", digest[i]);
  sha1_ = hex;
}

void RedisScript::run(RedisClient& client, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args, RedisClient::Callback cb) const {
  auto build = [&](const std::string& verb, const std::string& body) {
    std::vector<std::string> argv{verb, body, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  auto fallback = build("EVAL", source_);
  client.command(build("EVALSHA", sha1_), [&client, fallback = std::move(fallback),
                                           cb = std::move(cb)](Result<RedisReply> r) mutable {
    if (r.ok() && r->isError() && r->str.rfind("NOSCRIPT", 0) == 0) {
      client.command(std::move(fallback), std::move(cb));
      return;
    }
    cb(std::move(r));
  });
}

}  // namespace jobcast
