#include "core/redis_connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include "core/log.h"
#include "core/redis_source.h"

namespace jobcast {

RedisReply convertReply(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::String;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::Status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::Error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::Integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::Array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        out.elements.push_back(convertReply(r->element[i]));
      break;
    default:
      out.type = RedisReply::Type::Nil;
  }
  return out;
}

RedisConnection::RedisConnection(Loop& loop, RedisAddress address, Options options, Events events)
    : loop_(loop),
      address_(std::move(address)),
      options_(options),
      events_(std::move(events)),
      backoff_(options.backoff_min) {}

RedisConnection::~RedisConnection() {
  stopping_ = true;
  reconnect_timer_.cancel();
  if (link_) {
    link_->owner = nullptr;
    if (link_->ac) {
      redisAsyncContext* ac = link_->ac;
      link_->ac = nullptr;
      redisAsyncFree(ac);
    }
    if (link_->source) {
      g_source_destroy(link_->source);
      g_source_unref(link_->source);
      link_->source = nullptr;
    }
  }
}

RedisConnection* RedisConnection::ownerOf(const redisAsyncContext* ac) {
  auto* link = static_cast<Link*>(ac->data);
  return link ? link->owner : nullptr;
}

void RedisConnection::abort() {
  if (link_ && link_->ac)
    redisAsyncFree(link_->ac);  // fails the pending commands, then the disconnect callback
}

void RedisConnection::readNow() {
  if (link_ && link_->ac && link_->connected)
    redisAsyncHandleRead(link_->ac);
}

void RedisConnection::connect() {
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
    log::debug("redis connect failed", {{"address", address_.str()}, {"error", ac->errstr}});
    redisAsyncFree(ac);
    scheduleReconnect();
    return;
  }
  auto link = std::make_shared<Link>();
  link->owner = this;
  link->ac = ac;
  ac->data = link.get();
  link->source = attachRedisSource(ac, loop_.context());
  link_ = link;

  redisAsyncSetConnectCallback(ac, [](const redisAsyncContext* c, int status) {
    auto* link = static_cast<Link*>(c->data);
    if (!link)
      return;
    if (status != REDIS_OK) {
      link->ac = nullptr;  // hiredis frees the context after this callback
      if (link->owner)
        link->owner->drop(c->errstr);
      return;
    }
    link->connected = true;
    if (link->owner && link->owner->events_.connected)
      link->owner->events_.connected(link->ac);
  });
  redisAsyncSetDisconnectCallback(ac, [](const redisAsyncContext* c, int) {
    auto* link = static_cast<Link*>(c->data);
    if (!link)
      return;
    link->ac = nullptr;  // hiredis frees the context after this callback
    if (link->owner)
      link->owner->drop(c->errstr[0] ? c->errstr : "disconnected");
  });
  if (events_.created)
    events_.created(ac);
}

void RedisConnection::drop(const char* reason) {
  auto link = link_;
  link_.reset();
  if (link) {
    link->owner = nullptr;
    // hiredis still runs the source's cleanup after our callback returns:
    // destroy the GSource on a later loop turn, and keep the link alive until then.
    loop_.post([link] {
      if (link->source) {
        g_source_destroy(link->source);
        g_source_unref(link->source);
        link->source = nullptr;
      }
    });
  }
  if (events_.lost)
    events_.lost(reason);
  scheduleReconnect();
}

void RedisConnection::scheduleReconnect() {
  if (stopping_ || reconnect_timer_.active())
    return;
  auto delay = backoff_;
  backoff_ = std::min(backoff_ * 2, options_.backoff_max);
  reconnect_timer_.start(loop_, delay, [this] {
    reconnect_timer_.cancel();  // so that connect() may schedule the next attempt
    ++reconnects_;
    connect();
    return false;
  });
}

}  // namespace jobcast
