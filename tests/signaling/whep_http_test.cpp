// WHEP over real HTTP: an in-process HttpServer on port 0 with a real Redis, a
// stand-alone programme and a real webrtcbin viewer; plus jobcastd itself
// answering WHEP errors. curl calls run on a helper thread while the test
// thread drives the control loop.

#include <gtest/gtest.h>

#include <ctime>
#include <future>

#include "core/jwt.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "media/programme_feed.h"
#include "media/whep_egress.h"
#include "signaling/http_server.h"
#include "signaling/whep.h"
#include "tests/media/media_test_util.h"
#include "tests/media/test_programme.h"
#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_client_for.h"
#include "tests/support/redis_server.h"
#include "tests/support/whep_client.h"

namespace jobcast::http {
namespace {

using namespace std::chrono_literals;
using test::runUntil;

const std::string kSecret = "a-test-secret-of-some-length";

struct WhepNode {
  test::RedisServer redis_server;
  Loop loop;
  Metrics metrics;
  Router router;
  Jwt jwt{kSecret};
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<media::WhepEgress> egress;
  std::unique_ptr<WhepEndpoint> endpoint;
  std::unique_ptr<HttpServer> server;
  test::TestProgramme programme;
  media::ProgrammeFeed feed{"r1"};

  explicit WhepNode(int max_viewers = 10) {
    redis_server.start();
    redis_server.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live"});
    redis_server.command({"HSET", "jc:{r:r2}:room", "id", "r2", "status", "scheduled"});
    redis_server.command(
        {"HSET", "jc:{r:r3}:room", "id", "r3", "status", "live", "anonymous_viewers", "0"});
    redis = test::redisClientFor(loop, redis_server);
    redis->start();
    media::WhepEgress::Options options;
    options.max_viewers = max_viewers;
    options.session.local_addresses = {"127.0.0.1"};
    egress = std::make_unique<media::WhepEgress>(loop, options);
    endpoint = std::make_unique<WhepEndpoint>(router, *egress, jwt, redis.get(), metrics,
                                              WhepEndpoint::Options{});
    HttpServer::Options http;
    http.http = {"127.0.0.1", 0};
    http.https = {"", -1};
    server = std::make_unique<HttpServer>(loop, metrics, router, http);
    EXPECT_TRUE(server->start().ok());
    feed.attach(programme.pipeline(), programme.videoPad(), programme.audioPad());
    egress->setFeed("r1", "", &feed);
    egress->setFeed("r3", "", &feed);
    EXPECT_TRUE(runUntil(
        loop, [&] { return redis->ready(); }, 5s));
  }
  ~WhepNode() {
    server->stop();
    endpoint.reset();
    egress.reset();
    loop.drain();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->httpPort()) + path;
  }
  // Runs a blocking client call on a helper thread while serving the loop.
  template <typename F>
  auto call(F fn) {
    auto future = std::async(std::launch::async, fn);
    runUntil(
        loop, [&] { return future.wait_for(0ms) == std::future_status::ready; }, 20s);
    return future.get();
  }
  std::string token(const std::string& room) const {
    Claims c;
    c.sub = "u1";
    c.role = Role::Jobseeker;
    c.rooms = {room};
    c.exp = std::time(nullptr) + 600;
    return jwt.sign(c);
  }
};

test::HttpResponse postSdp(const std::string& url, const std::string& sdp,
                           const std::string& type = "application/sdp",
                           const std::string& bearer = "") {
  test::HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = sdp;
  req.headers.emplace_back("Content-Type", type);
  if (!bearer.empty())
    req.headers.emplace_back("Authorization", "Bearer " + bearer);
  return test::http(req);
}

TEST(WhepHttp, ViewerConnectsWatchesAndLeavesWithDelete) {
  WhepNode node;
  test::WhepClient viewer;
  std::string location;
  long status = node.call([&] { return viewer.connect(node.url("/whep/r1"), &location); });
  ASSERT_EQ(status, 201);
  ASSERT_EQ(location.rfind("/whep/r1/", 0), 0u) << location;
  ASSERT_TRUE(runUntil(node.loop,
                       [&] { return viewer.videoFrames() >= 10 && viewer.audioBuffers() >= 10; }));
  EXPECT_EQ(viewer.lastFrame().width, 640);
  EXPECT_GT(viewer.audioRms(), 1000.0);
  auto metrics = node.metrics.render();
  EXPECT_NE(metrics.find("jobcast_whep_viewers 1"), std::string::npos);

  auto del = node.call([&] { return test::http({.method = "DELETE", .url = node.url(location)}); });
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(node.egress->viewers(), 0u);
  auto again =
      node.call([&] { return test::http({.method = "DELETE", .url = node.url(location)}); });
  EXPECT_EQ(again.status, 404);
  EXPECT_EQ(again.json()["error"]["code"], "session_not_found");
}

// A session is ended (or patched) only by its owner: the id is 128 random
// bits, and a session made with a token needs a token of the same subject.
TEST(WhepHttp, OnlyTheOwnerEndsASession) {
  WhepNode node;
  test::WhepClient viewer;
  std::string location;
  long status =
      node.call([&] { return viewer.connect(node.url("/whep/r1"), &location, node.token("r1")); });
  ASSERT_EQ(status, 201);
  std::string id = location.substr(location.rfind('/') + 1);
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  Claims other;
  other.sub = "u2";
  other.role = Role::Jobseeker;
  other.rooms = {"r1"};
  other.exp = std::time(nullptr) + 600;
  std::string other_token = node.jwt.sign(other);
  auto end = [&](const std::string& method, const std::string& bearer) {
    test::HttpRequest req{.method = method, .url = node.url(location)};
    if (!bearer.empty())
      req.headers.emplace_back("Authorization", "Bearer " + bearer);
    return node.call([&] { return test::http(req); });
  };
  EXPECT_EQ(end("DELETE", "").status, 401);
  EXPECT_EQ(end("DELETE", other_token).status, 403);
  EXPECT_EQ(end("PATCH", other_token).status, 403);
  EXPECT_EQ(end("PATCH", node.token("r1")).status, 405);  // the owner: no trickle ICE
  EXPECT_EQ(node.egress->viewers(), 1u);
  EXPECT_EQ(end("DELETE", node.token("r1")).status, 204);
  EXPECT_EQ(node.egress->viewers(), 0u);
}

TEST(WhepHttp, ErrorsAreJsonWithTheRightStatus) {
  WhepNode node;
  test::WhepClient client;
  std::string offer = client.offer();
  auto code = [](const test::HttpResponse& r) { return r.json()["error"]["code"]; };

  auto r = node.call([&] { return postSdp(node.url("/whep/r1"), offer, "text/plain"); });
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(code(r), "unsupported_media_type");
  r = node.call([&] { return postSdp(node.url("/whep/r1"), "garbage"); });
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "bad_sdp");
  r = node.call([&] { return postSdp(node.url("/whep/nowhere"), offer); });
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "room_not_found");
  r = node.call([&] { return postSdp(node.url("/whep/r2"), offer); });
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(code(r), "room_not_live");
  r = node.call([&] { return postSdp(node.url("/whep/r1?variant=interpreter"), offer); });
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(code(r), "variant_unavailable");
  r = node.call([&] { return postSdp(node.url("/whep/r1?variant=x"), offer); });
  EXPECT_EQ(r.status, 400);
  r = node.call([&] { return postSdp(node.url("/whep/r1"), offer, "application/sdp", "bad"); });
  EXPECT_EQ(r.status, 401);
  r = node.call(
      [&] { return postSdp(node.url("/whep/r1"), offer, "application/sdp", node.token("r9")); });
  EXPECT_EQ(r.status, 403);
  // A room for signed-in viewers only.
  r = node.call([&] { return postSdp(node.url("/whep/r3"), offer); });
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(code(r), "unauthorized");

  // PATCH on a session nobody owns: no such session.
  r = node.call([&] { return test::http({.method = "PATCH", .url = node.url("/whep/r1/abc")}); });
  EXPECT_EQ(r.status, 404);
  r = node.call([&] { return test::http({.method = "OPTIONS", .url = node.url("/whep/r1")}); });
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("accept-post"), "application/sdp");
  EXPECT_EQ(node.egress->viewers(), 0u);
}

TEST(WhepHttp, NodeCapSendsViewersToHls) {
  WhepNode node(/*max_viewers=*/1);
  test::WhepClient first;
  ASSERT_EQ(node.call([&] { return first.connect(node.url("/whep/r1")); }), 201);
  test::WhepClient second;
  std::string offer = second.offer();
  // A signed-in viewer of r3 counts against the same node cap.
  auto r = node.call(
      [&] { return postSdp(node.url("/whep/r3"), offer, "application/sdp", node.token("r3")); });
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.json()["error"]["code"], "viewer_limit");
  EXPECT_EQ(r.json()["error"]["hls"], "/hls/r3/master.m3u8");
  EXPECT_FALSE(r.header("retry-after").empty());
  EXPECT_EQ(node.egress->viewers(), 1u);
}

TEST(WhepHttp, JobcastdAnswersWhepWithoutAProgramme) {
  test::RedisServer redis;
  redis.start();
  redis.command({"HSET", "jc:{r:r1}:room", "id", "r1", "status", "live"});
  test::Jobcastd node({.redis = redis.address()});
  node.start();
  ASSERT_TRUE(test::eventually([&] { return test::httpGet(node.url("/readyz")).status == 200; }));
  auto r = postSdp(node.url("/whep/r1"), "v=0\r\n", "application/json");
  EXPECT_EQ(r.status, 415);
  EXPECT_EQ(r.json()["error"]["code"], "unsupported_media_type");
  test::WhepClient client;
  r = postSdp(node.url("/whep/r1"), client.offer());
  EXPECT_EQ(r.status, 404);  // live in Redis, but no programme on this node
  EXPECT_EQ(r.json()["error"]["code"], "room_not_found");
  r = test::http({.method = "OPTIONS", .url = node.url("/whep/r1")});
  EXPECT_EQ(r.status, 204);
  auto metrics = test::httpGet(node.url("/metrics"));
  EXPECT_NE(metrics.body.find("jobcast_whep_viewer_limit 500"),
            std::string::npos);  // udp's default
}

}  // namespace
}  // namespace jobcast::http
