// libFuzzer target: REST request bodies built from the schemas
// (tests/fuzz/wire_gen.h), handed to the server's own route handlers (rooms,
// employers, jobs, applications, profile, stage, demo sign-in) through the
// router with an admin token, as http_server's dispatch does. Redis is a
// client that never connects: a body that passes its checks ends at the store
// with "redis_unavailable".
//
// Oracles: nothing throws (an exception aborts the run), every request is
// answered exactly once, never with 500, and a type error is a 400 naming a
// field of the schema.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <regex>

#include "backoffice/accounts.h"
#include "backoffice/webhooks.h"
#include "core/crypto.h"
#include "core/jwt.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/redis.h"
#include "signaling/demo_token.h"
#include "signaling/http.h"
#include "signaling/rooms_api.h"
#include "signaling/stage_api.h"
#include "tests/fuzz/wire_gen.h"

namespace {

using namespace jobcast;

struct Collect : http::Responder::Sink {
  std::vector<http::Response> responses;
  void deliver(http::Response r) override { responses.push_back(std::move(r)); }
};

struct World {
  Loop loop;
  RedisClient redis{loop, RedisAddress{"127.0.0.1", 1, ""}};
  Jwt jwt{"fuzz-secret-0123456789abcdef-0123456789"};
  http::Router router;
  std::unique_ptr<RoomsApi> rooms;
  std::unique_ptr<http::StageApi> stage;
  std::unique_ptr<backoffice::WebhookApi> webhooks;
  backoffice::AccountGates gates{loop, redis, RedisAddress{"127.0.0.1", 1, ""}};
  std::unique_ptr<backoffice::AccountsApi> accounts;
  std::string admin;

  World() {
    log::configure(log::Level::Error, log::Format::Json);
    RoomsApi::Options options;
    options.rate_limit.per_second = 1e12;
    options.rate_limit.burst = 1e12;
    rooms = std::make_unique<RoomsApi>(router, loop, redis, jwt,
                                       DataCipher::fromHex(std::string(64, '7')).value(), options);
    stage = std::make_unique<http::StageApi>(router, redis, jwt);
    webhooks = std::make_unique<backoffice::WebhookApi>(
        router, redis, jwt, DataCipher::fromHex(std::string(64, '7')).value());
    accounts = std::make_unique<backoffice::AccountsApi>(router, loop, redis, jwt, gates,
                                                         backoffice::AccountsApi::Options{});
    http::addDemoTokenRoute(router, jwt, 3600);
    Claims c;
    c.sub = "root";
    c.name = "root";
    c.role = Role::Admin;
    c.rooms = {"*"};
    c.iat = static_cast<int64_t>(std::time(nullptr));
    c.exp = c.iat + 10 * 365 * 24 * 3600;
    admin = jwt.sign(c);
  }
};

http::Method methodOf(const std::string& name) {
  if (name == "POST")
    return http::Method::Post;
  if (name == "PUT")
    return http::Method::Put;
  if (name == "PATCH")
    return http::Method::Patch;
  return http::Method::Unknown;
}

void checkOne(fuzz::Choices& c) {
  static World world;
  const wire::Schema& schema = fuzz::message(c, true);
  nlohmann::json doc = fuzz::document(c, schema);
  std::string body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  auto space = schema.message.find(' ');
  http::Request req;
  req.method = methodOf(schema.message.substr(0, space));
  static const std::regex kParam("\\{[a-z]+\\}");
  req.path = std::regex_replace(schema.message.substr(space + 1), kParam, "x1");
  req.body = body;
  req.peer = "127.0.0.1";
  req.headers["authorization"] = "Bearer " + world.admin;
  auto match = world.router.find(req.method, req.path);
  if (!match.handler)
    std::abort();  // a schema names a route the server does not have
  req.params = match.params;
  req.route = match.route;

  auto sink = std::make_shared<Collect>();
  (*match.handler)(req, http::Responder(sink));
  world.loop.drain();
  if (sink->responses.size() != 1) {
    std::fprintf(stderr, "%s %s -> %zu responses\n", schema.message.c_str(), body.c_str(),
                 sink->responses.size());
    std::abort();
  }
  const http::Response& r = sink->responses.front();
  if (r.status >= 500 && r.status != 503) {
    std::fprintf(stderr, "%s %s -> %d %s\n", schema.message.c_str(), body.c_str(), r.status,
                 r.body.c_str());
    std::abort();  // only "Redis is not reachable" may be a 5xx here
  }
  auto answer = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status == 400 && answer.is_object() && answer["error"]["code"] == "invalid_field" &&
      !schema.document["properties"].contains(answer["error"].value("field", std::string()))) {
    std::fprintf(stderr, "%s %s -> %s\n", schema.message.c_str(), body.c_str(), r.body.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jobcast::fuzz::Choices choices(data, size);
  checkOne(choices);
  return 0;
}
