#include "core/redis_subscriber.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "core/guard.h"
#include "core/log.h"
#include "core/redis_connection.h"

namespace jobcast {

namespace {

void onPush(redisAsyncContext* ac, void* reply, void* privdata) {
  if (!reply || !RedisConnection::ownerOf(ac))
    return;  // lost or shutting down
  static_cast<RedisSubscriber*>(privdata)->handlePublic(
      convertReply(static_cast<redisReply*>(reply)));
}

}  // namespace

RedisSubscriber::RedisSubscriber(Loop& loop, std::vector<RedisAddress> addresses)
    : addresses_(std::move(addresses)) {
  RedisConnection::Events events;
  // Subscribed again on every new connection: hiredis sends these once it connects.
  events.created = [this](redisAsyncContext* ac) {
    for (const auto& pattern : patterns_) {
      const char* argv[] = {"PSUBSCRIBE", pattern.c_str()};
      size_t lens[] = {10, pattern.size()};
      redisAsyncCommandArgv(ac, onPush, this, 2, argv, lens);
    }
  };
  events.lost = [this](const char* reason) {
    if (subscribed_) {
      log::warn("redis subscription lost",
                {{"address", addresses_[current_].str()}, {"reason", reason}});
    }
    subscribed_ = false;
    if (addresses_.size() > 1) {
      current_ = (current_ + 1) % addresses_.size();
      conn_->setAddress(addresses_[current_]);
    }
  };
  conn_ = std::make_unique<RedisConnection>(loop, addresses_.at(0), RedisConnection::Options{},
                                            std::move(events));
}

RedisSubscriber::~RedisSubscriber() = default;

void RedisSubscriber::start() {
  conn_->start();
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
    conn_->resetBackoff();
    if (!subscribed_) {
      subscribed_ = true;
      log::info("redis subscription ready", {{"address", addresses_[current_].str()}});
      if (on_subscribed_)
        on_subscribed_();
    }
  }
}

}  // namespace jobcast
