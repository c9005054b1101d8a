// Runs on the webhook dispatcher's own thread (started by start(), joined by
// the destructor); nothing here touches the control loop.
#include "backoffice/webhook_dispatcher.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "backoffice/webhook_post.h"
#include "backoffice/webhook_scripts.h"
#include "core/log.h"
#include "core/redis_slots.h"
#include "rooms/keys.h"

namespace jobcast::backoffice {
namespace {

namespace keys = rooms::keys;
using nlohmann::json;

constexpr int64_t kSeenTtlS = 7 * 24 * 3600;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// A blocking Redis connection for this thread alone. On a Redis Cluster it
// follows MOVED and ASK to the node that serves the key (a connection per
// node, kept), and remembers where each slot went.
class SyncRedis {
 public:
  explicit SyncRedis(const RedisAddress& address) : first_(address.str()) {
    ctx_[first_] = connect(address);
  }
  bool ok() const {
    auto it = ctx_.find(first_);
    return it != ctx_.end() && it->second && it->second->err == 0;
  }
  std::string error() const {
    auto it = ctx_.find(first_);
    return it != ctx_.end() && it->second ? it->second->errstr : "out of memory";
  }

  // nullptr when the connection failed (then ok() is false).
  Reply command(const std::vector<std::string>& args) {
    std::string node = first_;
    if (auto key = firstKeyIndex(args)) {
      auto it = slots_.find(keySlot(args[*key]));
      if (it != slots_.end())
        node = it->second;
    }
    bool asking = false;
    for (int redirects = 0;; ++redirects) {
      redisContext* c = context(node);
      if (!c)
        return nullptr;
      if (asking)
        Reply(static_cast<redisReply*>(redisCommand(c, "ASKING")));
      Reply r = send(c, args);
      if (!r || r->type != REDIS_REPLY_ERROR || redirects >= 5)
        return r;
      std::string error(r->str, r->len);
      bool moved = error.rfind("MOVED ", 0) == 0;
      asking = error.rfind("ASK ", 0) == 0;
      if (!moved && !asking)
        return r;
      auto space = error.find(' ', moved ? 6 : 4);
      if (space == std::string::npos)
        return r;
      node = error.substr(space + 1);
      if (moved)
        slots_[std::atoi(error.c_str() + 6)] = node;
    }
  }
  Reply eval(std::string_view script, const std::vector<std::string>& keys,
             const std::vector<std::string>& args) {
    std::vector<std::string> cmd = {"EVAL", std::string(script), std::to_string(keys.size())};
    cmd.insert(cmd.end(), keys.begin(), keys.end());
    cmd.insert(cmd.end(), args.begin(), args.end());
    return command(cmd);
  }

 private:
  using Context = std::unique_ptr<redisContext, ContextDeleter>;
  static Context connect(const RedisAddress& address) {
    timeval tv{2, 0};
    redisContext* c = address.unix_path.empty()
                          ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                          : redisConnectUnixWithTimeout(address.unix_path.c_str(), tv);
    if (c && c->err == 0)
      redisSetTimeout(c, timeval{10, 0});
    return Context(c);
  }
  // The connection to `node` ("host:port"), made on first use; null if it fails.
  redisContext* context(const std::string& node) {
    auto& c = ctx_[node];
    if (!c || c->err) {
      if (node == first_ && c)
        return nullptr;  // the first connection failing ends this session (ok() says so)
      auto address = RedisAddress::parse(node);
      if (!address)
        return nullptr;
      c = connect(address.value());
      if (!c || c->err) {
        if (node == first_)
          return nullptr;
        ctx_[first_].reset();  // a cluster node gone: start over with a new map
        return nullptr;
      }
    }
    return c.get();
  }
  static Reply send(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    void* r = redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
    return Reply(static_cast<redisReply*>(r));
  }

  std::string first_;
  std::map<std::string, Context> ctx_;
  std::map<int, std::string> slots_;
};

std::string str(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
            r->type == REDIS_REPLY_ERROR))
    return std::string(r->str, r->len);
  return "";
}

struct Entry {
  std::string id;
  std::map<std::string, std::string> fields;
};

// The entries of a stream reply: [[id, [f, v, ...]], ...].
std::vector<Entry> entriesOf(const redisReply* list) {
  std::vector<Entry> out;
  if (!list || list->type != REDIS_REPLY_ARRAY)
    return out;
  for (size_t i = 0; i < list->elements; ++i) {
    const redisReply* e = list->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[1]->type != REDIS_REPLY_ARRAY)
      continue;  // an entry deleted while pending reads as [id, nil]
    Entry entry{str(e->element[0]), {}};
    const redisReply* f = e->element[1];
    for (size_t j = 0; j + 1 < f->elements; j += 2)
      entry.fields[str(f->element[j])] = str(f->element[j + 1]);
    out.push_back(std::move(entry));
  }
  return out;
}

class Pass {
 public:
  Pass(SyncRedis& redis, const DataCipher& cipher, const DispatcherOptions& options)
      : redis_(redis), cipher_(cipher), options_(options) {}

  // Hands the webhook events waiting in each room's outbox to the deliveries
  // stream (fan_out.lua marks each as seen, so two nodes sweeping at once
  // queue it once), then removes them from the outbox.
  void sweepOutboxes() {
    auto rooms = redis_.command({"ZRANGE", keys::roomIndex(), "0", "-1"});
    if (!rooms || rooms->type != REDIS_REPLY_ARRAY)
      return;
    for (size_t i = 0; i < rooms->elements; ++i) {
      const std::string room = str(rooms->element[i]);
      auto pending = redis_.command({"XRANGE", keys::outbox(room), "-", "+", "COUNT", "100"});
      for (const auto& e : entriesOf(pending.get())) {
        const std::string event_id = room + "/" + e.id;
        auto queued = redis_.eval(
            scripts::kFanOutLua,
            {keys::webhookEndpoints(), keys::webhookSeen(room, e.id), keys::webhookDeliveries()},
            {e.fields.count("type") ? e.fields.at("type") : "",
             e.fields.count("data") ? e.fields.at("data") : "null", event_id,
             std::to_string(nowMs()), std::to_string(kSeenTtlS)});
        if (!queued || queued->type == REDIS_REPLY_ERROR) {
          log::warn("webhook fan-out failed", {{"event", event_id}, {"error", str(queued.get())}});
          return;  // kept in the outbox for the next sweep
        }
        redis_.command({"XDEL", keys::outbox(room), e.id});
      }
    }
  }

  void promoteRetries() {
    redis_.eval(scripts::kPromoteLua, {keys::webhookRetries(), keys::webhookDeliveries()},
                {std::to_string(nowMs())});
  }

  // Deliveries read by a consumer that went silent (a node that died between
  // reading and settling) are taken over here.
  void claimAbandoned() {
    auto claimed =
        redis_.command({"XAUTOCLAIM", keys::webhookDeliveries(), kConsumerGroup, options_.consumer,
                        std::to_string(options_.claim_idle_ms), "0-0", "COUNT", "20"});
    if (claimed && claimed->type == REDIS_REPLY_ARRAY && claimed->elements >= 2) {
      for (const auto& e : entriesOf(claimed->element[1]))
        deliver(e);
    }
  }

  // Reads new deliveries for this consumer, waiting up to block_ms.
  void readNew(const std::string& from) {
    auto read = redis_.command({"XREADGROUP", "GROUP", kConsumerGroup, options_.consumer, "COUNT",
                                "20", "BLOCK", std::to_string(options_.block_ms), "STREAMS",
                                keys::webhookDeliveries(), from});
    if (!read || read->type != REDIS_REPLY_ARRAY)
      return;
    for (size_t s = 0; s < read->elements; ++s) {
      const redisReply* stream = read->element[s];
      if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2)
        for (const auto& e : entriesOf(stream->element[1]))
          deliver(e);
    }
  }

 private:
  std::string field(const Entry& e, const char* name) {
    auto it = e.fields.find(name);
    return it == e.fields.end() ? "" : it->second;
  }

  void deliver(const Entry& e) {
    const std::string endpoint_id = field(e, "endpoint");
    auto endpoint_text = redis_.command({"HGET", keys::webhookEndpoints(), endpoint_id});
    auto sealed = redis_.command({"HGET", keys::webhookSecrets(), endpoint_id});
    if (!endpoint_text || !sealed)
      return;  // Redis went away: the delivery stays pending and is claimed later
    if (endpoint_text->type != REDIS_REPLY_STRING || sealed->type != REDIS_REPLY_STRING) {
      settle(e, "done", "");  // the endpoint was removed: nobody to deliver to
      return;
    }
    auto secret = cipher_.open(str(sealed.get()), "webhook:" + endpoint_id);
    auto endpoint = json::parse(str(endpoint_text.get()), nullptr, false);
    if (!secret.ok() || endpoint.is_discarded()) {
      settle(e, "failed", "the endpoint's secret cannot be opened");
      return;
    }
    json data = json::parse(field(e, "data"), nullptr, false);
    if (data.is_discarded())
      data = nullptr;
    int64_t created_at = std::strtoll(field(e, "created_at").c_str(), nullptr, 10);
    json body = {{"id", field(e, "event")},
                 {"type", field(e, "type")},
                 {"created_at", created_at / 1000},
                 {"data", data}};
    SignedPost request{.url = endpoint.value("url", ""),
                       .body = body.dump(),
                       .secret = secret.value(),
                       .event_id = field(e, "event"),
                       .event_type = field(e, "type"),
                       .timestamp_s = nowMs() / 1000,
                       .timeout_ms = options_.timeout_ms};
    auto result = post(request);
    if (result.ok()) {
      settle(e, "done", "");
      return;
    }
    log::info("webhook delivery failed",
              {{"endpoint", endpoint_id}, {"event", field(e, "event")}, {"error", result.error}});
    settle(e, "failed", result.error);
  }

  void settle(const Entry& e, const char* outcome, const std::string& error) {
    int64_t attempt = std::max<int64_t>(1, std::strtoll(field(e, "attempt").c_str(), nullptr, 10));
    int64_t backoff = options_.backoff_ms;
    for (int64_t i = 1; i < attempt && backoff < options_.backoff_max_ms; ++i)
      backoff *= 2;
    backoff = std::min(backoff, options_.backoff_max_ms);
    json delivery = json::object();
    for (const auto& [k, v] : e.fields)
      delivery[k] = v;
    auto r = redis_.eval(
        scripts::kSettleLua,
        {keys::webhookDeliveries(), keys::webhookRetries(), keys::webhookDead()},
        {e.id, kConsumerGroup, outcome, delivery.dump(), std::to_string(attempt),
         std::to_string(options_.max_attempts), std::to_string(nowMs() + backoff), error});
    if (str(r.get()) == "dead")
      log::warn("webhook delivery dead-lettered", {{"endpoint", field(e, "endpoint")},
                                                   {"event", field(e, "event")},
                                                   {"attempts", std::to_string(attempt)}});
  }

  SyncRedis& redis_;
  const DataCipher& cipher_;
  const DispatcherOptions& options_;
};

}  // namespace

WebhookDispatcher::WebhookDispatcher(std::vector<RedisAddress> addresses, DataCipher cipher,
                                     DispatcherOptions options)
    : addresses_(std::move(addresses)), cipher_(std::move(cipher)), options_(std::move(options)) {}

WebhookDispatcher::~WebhookDispatcher() {
  stop_ = true;
  wake_.notify_all();
  if (thread_.joinable())
    thread_.join();
}

void WebhookDispatcher::start() {
  // Before the thread exists: curl's global set-up is not thread-safe.
  curl_global_init(CURL_GLOBAL_DEFAULT);
  thread_ = std::thread([this] { run(); });
}

void WebhookDispatcher::run() {
  auto pause = [this](int64_t ms) {
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stop_.load(); });
  };
  size_t next = 0;
  while (!stop_) {
    SyncRedis redis(addresses_[next++ % addresses_.size()]);
    if (!redis.ok()) {
      log::warn("webhooks: Redis not reachable", {{"error", redis.error()}});
      pause(1000);
      continue;
    }
    // "0": a group made now still sees deliveries queued before it existed.
    redis.command({"XGROUP", "CREATE", keys::webhookDeliveries(), kConsumerGroup, "0", "MKSTREAM"});
    Pass pass(redis, cipher_, options_);
    pass.readNew("0");  // this consumer's own unsettled deliveries (a restart with the same name)
    int64_t last_sweep = 0;
    int64_t last_claim = 0;
    while (!stop_ && redis.ok()) {
      int64_t now = nowMs();
      if (now - last_sweep >= options_.sweep_ms) {
        pass.sweepOutboxes();
        last_sweep = now;
      }
      pass.promoteRetries();
      if (now - last_claim >= options_.claim_idle_ms / 2) {
        pass.claimAbandoned();
        last_claim = now;
      }
      pass.readNew(">");
    }
    if (!stop_) {
      log::warn("webhooks: Redis connection lost", {{"error", redis.error()}});
      pause(1000);
    }
  }
}

}  // namespace jobcast::backoffice
