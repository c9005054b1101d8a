#pragma once
// Webhooks (docs/webhooks.md): the admin REST routes that register endpoints
// and replay dead-lettered deliveries, on the control loop; delivery itself is
// WebhookDispatcher's, on its own thread.

#include <memory>
#include <string>

#include "backoffice/webhook_dispatcher.h"
#include "core/crypto.h"
#include "core/jwt.h"
#include "core/redis.h"
#include "signaling/http.h"

namespace jobcast::backoffice {

// The event types an endpoint may subscribe to.
bool isWebhookEventType(const std::string& type);

class WebhookApi {
 public:
  WebhookApi(http::Router& router, RedisClient& redis, const Jwt& jwt, DataCipher cipher);

 private:
  void routes(http::Router& router);

  RedisClient& redis_;
  const Jwt& jwt_;
  DataCipher cipher_;
};

struct Webhooks {
  std::unique_ptr<WebhookApi> api;
  std::unique_ptr<WebhookDispatcher> dispatcher;
};

// Adds the routes and starts this node's dispatcher.
Result<Webhooks> startWebhooks(http::Router& router, RedisClient& redis, const Jwt& jwt,
                               const std::string& data_key_hex, const RedisAddress& address,
                               DispatcherOptions options);

}  // namespace jobcast::backoffice
