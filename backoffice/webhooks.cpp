#include "backoffice/webhooks.h"

#include <array>
#include <nlohmann/json.hpp>

#include "backoffice/guarded_route.h"
#include "backoffice/webhook_scripts.h"
#include "core/secrets.h"
#include "rooms/access.h"
#include "rooms/keys.h"
#include "signaling/auth.h"
#include "signaling/rooms_api.h"
#include "signaling/wire.h"

namespace jobcast::backoffice {
namespace {

namespace keys = rooms::keys;
using http::Method;
using http::Request;
using http::Responder;
using nlohmann::json;

constexpr std::array kEventTypes = {"application.created", "application.status_changed",
                                    "room.scheduled",      "room.updated",
                                    "room.cancelled",      "room.started",
                                    "room.ended",          "reminder.due"};

void fail(const Responder& r, const Error& e) {
  r.send(errorResponse(e));
}

// The Redis reply as an error for the client, or nullopt when it is usable.
std::optional<Error> redisError(const Result<RedisReply>& reply) {
  if (!reply.ok())
    return Error{"redis_unavailable", "the data store is not reachable"};
  if (reply.value().isError())
    return Error{"internal", "the data store refused the request"};
  return std::nullopt;
}

const RedisScript& registerScript() {
  static const RedisScript s{std::string(scripts::kRegisterLua)};
  return s;
}
const RedisScript& replayScript() {
  static const RedisScript s{std::string(scripts::kReplayLua)};
  return s;
}

json endpointView(const json& stored) {
  return {{"id", stored.value("id", "")},
          {"url", stored.value("url", "")},
          {"events", stored.value("events", json::array())},
          {"created_at", stored.value("created_at", 0)}};
}

}  // namespace

bool isWebhookEventType(const std::string& type) {
  for (const char* t : kEventTypes)
    if (type == t)
      return true;
  return false;
}

WebhookApi::WebhookApi(http::Router& router, RedisClient& redis, const Jwt& jwt, DataCipher cipher)
    : redis_(redis), jwt_(jwt), cipher_(std::move(cipher)) {
  routes(router);
}

void WebhookApi::routes(http::Router& router) {
  const std::string base = "/api/v1/admin/webhooks";
  // Every route: an admin token, or the error says why not.
  auto admin = [this](auto handler) {
    return guardedRoute(jwt_, rooms::mayManageWebhooks, std::move(handler));
  };

  router.add(
      Method::Post, base, admin([this](const Request& q, const Responder& r, const Claims& who) {
        auto body = wire::parseBody(q.routeKey(), q.body);
        if (!body.ok())
          return fail(r, body.error());
        const json& b = body.value();
        std::string url = b.at("url").get<std::string>();
        if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
          return fail(r, Error{"invalid_field", "url: must start with http:// or https://"});
        json events = json::array();
        for (const auto& t : b.at("events")) {
          if (!isWebhookEventType(t.get<std::string>()))
            return fail(r, Error{"invalid_field",
                                 "events: unknown event type '" + t.get<std::string>() + "'"});
          events.push_back(t);
        }
        const std::string id = "wh_" + randomHex(8);
        const std::string secret = "whsec_" + randomHex(32);
        auto sealed = cipher_.seal(secret, "webhook:" + id);
        if (!sealed.ok())
          return fail(r, Error{"internal", "the secret could not be sealed"});
        json stored = {{"id", id},
                       {"url", url},
                       {"events", events},
                       {"created_at", http::epochSeconds()},
                       {"created_by", who.sub}};
        registerScript().run(redis_, {keys::webhookEndpoints(), keys::webhookSecrets()},
                             {id, stored.dump(), sealed.value()},
                             [r, stored, secret](Result<RedisReply> reply) {
                               if (auto e = redisError(reply))
                                 return fail(r, *e);
                               json out = endpointView(stored);
                               out["secret"] = secret;  // shown once: only its sealed form is kept
                               r.json(201, out);
                             });
      }));

  router.add(Method::Get, base, admin([this](const Request&, const Responder& r, const Claims&) {
               redis_.command({"HVALS", keys::webhookEndpoints()}, [r](Result<RedisReply> reply) {
                 if (auto e = redisError(reply))
                   return fail(r, *e);
                 json list = json::array();
                 for (const auto& v : reply.value().elements) {
                   auto stored = json::parse(v.str, nullptr, false);
                   if (!stored.is_discarded())
                     list.push_back(endpointView(stored));
                 }
                 r.json(200, {{"webhooks", list}});
               });
             }));

  router.add(
      Method::Delete, base + "/{id}",
      admin([this](const Request& q, const Responder& r, const Claims&) {
        std::string id = q.param("id");
        redis_.command(
            {"HDEL", keys::webhookEndpoints(), id}, [this, r, id](Result<RedisReply> reply) {
              if (auto e = redisError(reply))
                return fail(r, *e);
              if (reply.value().integer == 0)
                return fail(r, Error{"not_found", "no such webhook endpoint"});
              redis_.command({"HDEL", keys::webhookSecrets(), id}, [](Result<RedisReply>) {});
              r.json(200, {{"id", id}, {"deleted", true}});
            });
      }));

  // The newest dead-lettered deliveries first, at most 100.
  router.add(
      Method::Get, base + "/dead", admin([this](const Request&, const Responder& r, const Claims&) {
        redis_.command({"XREVRANGE", keys::webhookDead(), "+", "-", "COUNT", "100"},
                       [r](Result<RedisReply> reply) {
                         if (auto e = redisError(reply))
                           return fail(r, *e);
                         json list = json::array();
                         for (const auto& entry : reply.value().elements) {
                           if (entry.elements.size() != 2)
                             continue;
                           json d = {{"id", entry.elements[0].str}};
                           const auto& f = entry.elements[1].elements;
                           for (size_t i = 0; i + 1 < f.size(); i += 2) {
                             const std::string& k = f[i].str;
                             const std::string& v = f[i + 1].str;
                             if (k == "endpoint" || k == "type" || k == "event" || k == "error")
                               d[k] = v;
                             else if (k == "attempts" || k == "created_at")
                               d[k] = std::strtoll(v.c_str(), nullptr, 10);
                           }
                           list.push_back(d);
                         }
                         r.json(200, {{"deliveries", list}});
                       });
      }));

  router.add(Method::Post, base + "/dead/{id}/replay",
             admin([this](const Request& q, const Responder& r, const Claims&) {
               std::string id = q.param("id");
               replayScript().run(
                   redis_, {keys::webhookDead(), keys::webhookDeliveries()}, {id},
                   [r, id](Result<RedisReply> reply) {
                     if (auto e = redisError(reply))
                       return fail(r, *e);
                     const auto& v = reply.value();
                     if (v.elements.size() >= 2 && v.elements[0].str == "err")
                       return fail(r, Error{v.elements[1].str,
                                            v.elements.size() > 2 ? v.elements[2].str : ""});
                     if (v.elements.size() < 2)
                       return fail(r, Error{"internal", "unexpected reply from the data store"});
                     r.json(200, {{"id", id}, {"delivery", v.elements[1].str}});
                   });
             }));
}

Result<Webhooks> startWebhooks(http::Router& router, RedisClient& redis, const Jwt& jwt,
                               const std::string& data_key_hex, const RedisAddress& address,
                               DispatcherOptions options) {
  auto api_cipher = DataCipher::fromHex(data_key_hex);
  auto thread_cipher = DataCipher::fromHex(data_key_hex);
  if (!api_cipher.ok() || !thread_cipher.ok())
    return Error{"crypto.data_key",
                 api_cipher.ok() ? thread_cipher.error().message : api_cipher.error().message};
  Webhooks w;
  w.api = std::make_unique<WebhookApi>(router, redis, jwt, std::move(api_cipher.value()));
  w.dispatcher = std::make_unique<WebhookDispatcher>(
      redis.clustered() ? redis.nodeAddresses() : std::vector<RedisAddress>{address},
      std::move(thread_cipher.value()), std::move(options));
  w.dispatcher->start();
  return w;
}

}  // namespace jobcast::backoffice
