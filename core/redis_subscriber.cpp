#include "core/redis_subscriber.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include "core/guard.h"
#include "core/log.h"
#include "core/redis_source.h"

namespace jobcast {

// Lives until hiredis is done with its context; `owner` is cleared when the
// subscriber no longer wants callbacks.
struct RedisSubscriber::Connection {
  RedisSubscriber* owner = nullptr;
  redisAsyncContext* ac = nullptr;
  GSource* source = nullptr;
};

namespace {

RedisReply convertReply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r->type == REDIS_REPLY_ERROR ? RedisReply::Type::Error : RedisReply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convertReply(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

void onPush(redisAsyncContext* ac, void* reply, void*) {
  auto* conn = static_cast<RedisSubscriber::Connection*>(ac->data);
  if (!reply || !conn || !conn->owner)
    return;
  RedisReply r = convertReply(static_cast<redisReply*>(reply));
  // Dispatch through the loop: never run user code inside hiredis' read path.
  conn->owner->handlePublic(r);
}

}  // namespace

RedisSubscriber::RedisSubscriber(Loop& loop, RedisAddress address)
    : loop_(loop), address_(std::move(address)) {}

RedisSubscriber::~RedisSubscriber() {
  stopping_ = true;
  reconnect_timer_.cancel();
  if (conn_) {
    conn_->owner = nullptr;
    if (conn_->ac) {
      redisAsyncContext* ac = conn_->ac;
      conn_->ac = nullptr;
      redisAsyncFree(ac);
    }
    if (conn_->source) {
      g_source_destroy(conn_->source);
      g_source_unref(conn_->source);
      conn_->source = nullptr;
    }
  }
}

void RedisSubscriber::start() {
  connect();
}

void RedisSubscriber::connect() {
  if (stopping_)
    return;
  redisAsyncContext* ac = address_.unix_path.empty()
                              ? redisAsyncConnect(address_.host.c_str(), address_.port)
                              : redisAsyncConnectUnix(address_.unix_path.c_str());
  if (!ac) {
    scheduleReconnect();
    return;
  }
  if (ac->err) {
    redisAsyncFree(ac);
    scheduleReconnect();
    return;
  }
  auto conn = std::make_shared<Connection>();
  conn->owner = this;
  conn->ac = ac;
  ac->data = conn.get();
  conn->source = attachRedisSource(ac, loop_.context());
  conn_ = conn;

  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    auto* conn = static_cast<Connection*>(c->data);
    if (!conn)
      return;
    if (status != REDIS_OK) {
      conn->ac = nullptr;  // hiredis frees the context after this callback
      if (conn->owner)
        conn->owner->dropConnection(c->errstr);
    }
  });
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* c, int) {
    auto* conn = static_cast<Connection*>(c->data);
    if (!conn)
      return;
    conn->ac = nullptr;
    if (conn->owner)
      conn->owner->dropConnection(c->errstr[0] ? c->errstr : "disconnected");
  });
  for (const auto& pattern : patterns_) {
    const char* argv[] = {"PSUBSCRIBE", pattern.c_str()};
    size_t lens[] = {10, pattern.size()};
    redisAsyncCommandArgv(ac, onPush, nullptr, 2, argv, lens);
  }
}

void RedisSubscriber::handlePublic(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::Array || reply.elements.empty())
    return;
  const std::string& kind = reply.elements[0].str;
  if (kind == "pmessage" && reply.elements.size() == 4) {
    if (on_message_)
      guarded("redis message", [&] { on_message_(reply.elements[2].str, reply.elements[3].str); });
  } else if (kind == "message" && reply.elements.size() == 3) {
    if (on_message_)
      guarded("redis message", [&] { on_message_(reply.elements[1].str, reply.elements[2].str); });
  } else if (kind == "psubscribe" || kind == "subscribe") {
    backoff_ = std::chrono::milliseconds(100);
    if (!subscribed_) {
      subscribed_ = true;
      log::info("redis subscription ready", {{"address", address_.str()}});
      if (on_subscribed_)
        on_subscribed_();
    }
  }
}

void RedisSubscriber::dropConnection(const char* reason) {
  auto conn = conn_;
  conn_.reset();
  if (conn) {
    conn->owner = nullptr;
    loop_.post([conn] {
      if (conn->source) {
        g_source_destroy(conn->source);
        g_source_unref(conn->source);
        conn->source = nullptr;
      }
    });
  }
  if (subscribed_)
    log::warn("redis subscription lost", {{"address", address_.str()}, {"reason", reason}});
  subscribed_ = false;
  scheduleReconnect();
}

void RedisSubscriber::scheduleReconnect() {
  if (stopping_ || reconnect_timer_.active())
    return;
  auto delay = backoff_;
  backoff_ = std::min(backoff_ * 2, std::chrono::milliseconds(1000));
  reconnect_timer_.start(loop_, delay, [this] {
    reconnect_timer_.cancel();
    connect();
    return false;
  });
}

}  // namespace jobcast
