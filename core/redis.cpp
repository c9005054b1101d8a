#include "core/redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <map>

#include "core/guard.h"
#include "core/log.h"
#include "core/redis_connection.h"
#include "core/redis_slots.h"

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

// ---- Redis Cluster ----

struct RedisClient::Cluster {
  static constexpr int kMaxRedirects = 5;
  using Args = std::shared_ptr<const std::vector<std::string>>;

  RedisClient& owner;
  Loop& loop;
  Options options;
  std::vector<RedisAddress> seeds;
  // Every node ever connected to, by "host:port"; never removed, so that a
  // node's pending callbacks always run (a lost master keeps reconnecting
  // in the background, and is used again if it comes back as a master).
  std::map<std::string, std::unique_ptr<RedisClient>> nodes;
  std::vector<RedisClient*> slots = std::vector<RedisClient*>(kRedisSlots, nullptr);
  std::vector<RedisClient*> masters;
  bool started = false;
  bool refreshing = false;
  bool stale = true;
  Clock::TimePoint last_refresh{};
  size_t next_any = 0;
  Timer refresh_timer;
  Timer retry_timer;
  std::vector<std::function<void()>> deferred;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  Cluster(RedisClient& owner, Loop& loop, std::vector<RedisAddress> seeds, Options options)
      : owner(owner), loop(loop), options(options), seeds(std::move(seeds)) {}
  ~Cluster() {
    *alive = false;
    refresh_timer.cancel();
    retry_timer.cancel();
  }

  void start() {
    started = true;
    for (const auto& seed : seeds)
      node(seed);
    // While the map is stale or a master is missing (a failover under way),
    // read it again four times a second; then every 10 s, to notice a
    // resharding that no command has run into yet.
    refresh_timer.start(loop, std::chrono::milliseconds(250), [this] {
      auto now = loop.now();
      if (stale || !owner.ready_ || now - last_refresh > std::chrono::seconds(10))
        refresh();
      return true;
    });
  }

  RedisClient* node(const RedisAddress& address) {
    auto [it, fresh] = nodes.try_emplace(address.str());
    if (fresh) {
      it->second = std::make_unique<RedisClient>(loop, address, options);
      RedisClient* n = it->second.get();
      n->onStateChange([this, n](bool up) {
        if (up && stale)
          refresh();
        if (!up) {
          log::warn("redis cluster node lost", {{"address", n->address().str()}});
          stale = true;
          refresh();
        }
        updateReady();
      });
      if (started)
        n->start();
    }
    return it->second.get();
  }

  void updateReady() {
    bool ready = !masters.empty();
    for (RedisClient* s : slots)
      ready = ready && s != nullptr;
    for (RedisClient* m : masters)
      ready = ready && m->ready();
    owner.setReady(ready);
  }

  // Reads the slot map from a node that answers (the masters first).
  void refresh() {
    if (refreshing)
      return;
    std::vector<RedisClient*> candidates = masters;
    for (const auto& [_, n] : nodes)
      candidates.push_back(n.get());
    RedisClient* from = nullptr;
    for (RedisClient* n : candidates) {
      if (n->ready()) {
        from = n;
        break;
      }
    }
    if (!from)
      return;  // a node coming up calls again
    refreshing = true;
    last_refresh = loop.now();
    from->send({"CLUSTER", "SLOTS"}, [this, from,
                                      alive = std::weak_ptr<bool>(alive)](Result<RedisReply> r) {
      auto live = alive.lock();
      if (!live || !*live)
        return;
      refreshing = false;
      if (!r || r->type != RedisReply::Type::Array) {
        log::warn("redis cluster slots unreadable", {{"address", from->address().str()}});
        return;
      }
      apply(r.value(), from->address());
    });
  }

  void apply(const RedisReply& reply, const RedisAddress& asked) {
    std::vector<RedisClient*> fresh(kRedisSlots, nullptr);
    std::vector<RedisClient*> fresh_masters;
    for (const auto& range : reply.elements) {
      if (range.elements.size() < 3 || range.elements[2].elements.size() < 2)
        continue;
      long long first = range.elements[0].integer;
      long long last = range.elements[1].integer;
      const auto& master = range.elements[2];
      RedisAddress address;
      address.host = master.elements[0].str.empty() || master.elements[0].str == "?"
                         ? asked.host
                         : master.elements[0].str;
      address.port = static_cast<int>(master.elements[1].integer);
      if (first < 0 || last >= kRedisSlots || first > last || address.port <= 0)
        continue;
      RedisClient* n = node(address);
      if (std::find(fresh_masters.begin(), fresh_masters.end(), n) == fresh_masters.end())
        fresh_masters.push_back(n);
      for (long long slot = first; slot <= last; ++slot)
        fresh[static_cast<size_t>(slot)] = n;
    }
    bool whole = std::find(fresh.begin(), fresh.end(), nullptr) == fresh.end();
    if (fresh_masters.empty())
      return;
    if (slots != fresh)
      log::info("redis cluster map", {{"masters", std::to_string(fresh_masters.size())},
                                      {"whole", whole ? "yes" : "no"}});
    slots = std::move(fresh);
    masters = std::move(fresh_masters);
    stale = !whole;
    updateReady();
  }

  RedisClient* route(const std::vector<std::string>& args) {
    auto key = firstKeyIndex(args);
    if (key)
      return slots[static_cast<size_t>(keySlot(args[*key]))];
    if (masters.empty())
      return nullptr;
    return masters[next_any++ % masters.size()];
  }

  // Runs `fn` on a later loop turn, 100 ms from now at the earliest.
  void later(std::function<void()> fn) {
    deferred.push_back(std::move(fn));
    if (retry_timer.active())
      return;
    retry_timer.start(loop, std::chrono::milliseconds(100), [this] {
      auto due = std::move(deferred);
      deferred.clear();
      for (auto& fn : due)
        fn();
      return !deferred.empty();
    });
  }

  // "MOVED 3999 127.0.0.1:6381": the slot and the node.
  static bool redirect(const std::string& error, const char* kind, int* slot,
                       RedisAddress* address) {
    size_t n = std::char_traits<char>::length(kind);
    if (error.compare(0, n, kind) != 0 || error.size() <= n || error[n] != ' ')
      return false;
    auto space = error.find(' ', n + 1);
    if (space == std::string::npos)
      return false;
    *slot = std::atoi(error.substr(n + 1, space - n - 1).c_str());
    auto parsed = RedisAddress::parse(error.substr(space + 1));
    if (!parsed || *slot < 0 || *slot >= kRedisSlots)
      return false;
    *address = parsed.value();
    return true;
  }

  void send(Args args, Callback cb, int redirects, RedisClient* ask) {
    RedisClient* target = ask ? ask : route(*args);
    if (!target) {
      stale = true;
      refresh();
      loop.post([cb = std::move(cb)] { cb(unavailable()); });
      return;
    }
    if (ask)
      target->send({"ASKING"}, [](Result<RedisReply>) {});
    target->send(*args, [this, args, redirects, cb = std::move(cb),
                         alive = std::weak_ptr<bool>(alive)](Result<RedisReply> r) mutable {
      auto live = alive.lock();
      if (!live || !*live || !r || !r->isError()) {
        if (!r && live && *live)
          stale = true;  // the next tick reads the map again
        cb(std::move(r));
        return;
      }
      int slot = 0;
      RedisAddress address;
      const std::string& error = r->str;
      bool moved = redirect(error, "MOVED", &slot, &address);
      bool asked = !moved && redirect(error, "ASK", &slot, &address);
      bool busy = error.rfind("TRYAGAIN", 0) == 0 || error.rfind("CLUSTERDOWN", 0) == 0;
      if (!moved && !asked && !busy) {
        cb(std::move(r));
        return;
      }
      if (redirects >= kMaxRedirects) {
        log::warn("redis cluster redirects exhausted", {{"error", error.substr(0, 60)}});
        cb(unavailable());  // MOVED, ASK, TRYAGAIN and CLUSTERDOWN apply nothing
        return;
      }
      if (moved) {
        slots[static_cast<size_t>(slot)] = node(address);
        stale = true;
        refresh();
        send(std::move(args), std::move(cb), redirects + 1, nullptr);
      } else if (asked) {
        send(std::move(args), std::move(cb), redirects + 1, node(address));
      } else {
        later([this, args = std::move(args), cb = std::move(cb), redirects]() mutable {
          send(std::move(args), std::move(cb), redirects + 1, nullptr);
        });
      }
    });
  }
};

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

void RedisClient::start() {
  if (cluster_) {
    cluster_->start();
    return;
  }
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
  if (cluster_) {
    cluster_->send(std::make_shared<const std::vector<std::string>>(std::move(args)), std::move(cb),
                   0, nullptr);
    return;
  }
  send(args, std::move(cb));
}

void RedisClient::send(const std::vector<std::string>& args, Callback cb) {
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

RedisClient::RedisClient(Loop& loop, std::vector<RedisAddress> seeds, Options options)
    : loop_(loop), address_(seeds.empty() ? RedisAddress{} : seeds.front()), options_(options) {
  cluster_ = std::make_unique<Cluster>(*this, loop, std::move(seeds), options);
}

std::vector<RedisAddress> RedisClient::nodeAddresses() const {
  if (!cluster_)
    return {address_};
  std::vector<RedisAddress> out = cluster_->seeds;
  for (const auto& [_, n] : cluster_->nodes) {
    bool known = false;
    for (const auto& a : out)
      known = known || a.str() == n->address().str();
    if (!known)
      out.push_back(n->address());
  }
  return out;
}

std::optional<RedisAddress> RedisClient::masterOf(int slot) const {
  if (!cluster_)
    return address_;
  if (slot < 0 || slot >= kRedisSlots)
    return std::nullopt;
  const RedisClient* master = cluster_->slots[static_cast<size_t>(slot)];
  if (!master)
    return std::nullopt;
  return master->address();
}

void RedisClient::refreshSlots() {
  if (cluster_)
    cluster_->stale = true;
}

uint64_t RedisClient::reconnects() const {
  if (!cluster_)
    return conn_->reconnects();
  uint64_t sum = 0;
  for (const auto& [_, n] : cluster_->nodes)
    sum += n->reconnects();
  return sum;
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
