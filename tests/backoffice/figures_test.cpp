// A room's figures through the real jobcastd and redis-server: signed-in
// viewers joining over the WebSocket are counted once each, the peak of
// concurrent viewers and the applications are kept after the room ends, and
// only the room's employer and admins may read them.

#include <gtest/gtest.h>

#include <fstream>

#include "tests/support/http_client.h"
#include "tests/support/jobcastd.h"
#include "tests/support/redis_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tokens.h"
#include "tests/support/ws_client.h"

namespace jobcast::test {
namespace {

using nlohmann::json;

HttpResponse call(Jobcastd& node, const std::string& method, const std::string& path,
                  const std::string& bearer, const json& body = nullptr) {
  HttpRequest request;
  request.method = method;
  request.url = node.url("/api/v1" + path);
  if (!body.is_null()) {
    request.body = body.dump();
    request.headers.emplace_back("content-type", "application/json");
  }
  request.headers.emplace_back("authorization", "Bearer " + bearer);
  return http(request);
}

TEST(Figures, UniqueAndPeakViewersAndConversionOutliveTheRoom) {
  RedisServer redis;
  TempDir dir{"jobcast-figures"};
  const std::string config = dir.path() + "/jobcast.yaml";
  std::ofstream(config) << "live:\n  heartbeat_ms: 100\n  viewer_ttl_ms: 1000\n";
  Jobcastd node({.args = {"--config", config}, .redis = redis.address()});
  node.start();
  const std::string admin = signToken(Role::Admin, "root", {"*"});
  const std::string acme = signToken(Role::Employer, "acme", {"*"});
  ASSERT_EQ(call(node, "POST", "/employers", admin, {{"id", "acme"}, {"name", "Acme"}}).status,
            201);
  ASSERT_EQ(call(node, "POST", "/employers/acme/verify", admin).status, 200);
  auto room = call(node, "POST", "/rooms", acme, {{"title", "Fair"}, {"scheduled_at", 1767225600}});
  ASSERT_EQ(room.status, 201) << room.body;
  const std::string id = room.json()["id"];
  auto job = call(node, "POST", "/rooms/" + id + "/jobs", acme,
                  {{"title", "Driller"},
                   {"wage_min", 6000},
                   {"wage_max", 9000},
                   {"wage_unit", "month"},
                   {"hours", "8h"},
                   {"location", "Baotou"},
                   {"headcount", 1}});
  ASSERT_EQ(job.status, 201) << job.body;
  ASSERT_EQ(call(node, "POST", "/rooms/" + id + "/start", acme).status, 200);

  // Two jobseekers watch; one of them twice (two tabs): two unique viewers.
  // The employer's studio and an admin are connected too: they are in the
  // peak, but they are no viewers.
  std::vector<std::unique_ptr<WsClient>> tabs;
  for (const char* sub : {"seeker-1", "seeker-2", "seeker-1"}) {
    tabs.push_back(WsClient::connect(node.httpPort()));
    ASSERT_TRUE(tabs.back());
    ASSERT_EQ(tabs.back()->hello(id, signToken(Role::Jobseeker, sub, {"*"}))["type"], "welcome");
  }
  for (const auto& staff : {acme, signToken(Role::Admin, "ops", {"*"})}) {
    tabs.push_back(WsClient::connect(node.httpPort()));
    ASSERT_TRUE(tabs.back());
    ASSERT_EQ(tabs.back()->hello(id, staff)["type"], "welcome");
  }
  const std::string seeker = signToken(Role::Jobseeker, "seeker-1", {"*"});
  ASSERT_EQ(call(node, "PUT", "/me/profile", seeker,
                 {{"name", "Bayar"}, {"phone", "13800138000"}, {"cv", "CV"}})
                .status,
            200);
  ASSERT_EQ(call(node, "POST",
                 "/rooms/" + id + "/jobs/" + job.json()["id"].get<std::string>() + "/apply", seeker)
                .status,
            201);

  json figures;
  ASSERT_TRUE(eventually([&] {
    figures = call(node, "GET", "/rooms/" + id + "/figures", acme).json();
    return figures.value("unique_viewers", 0) >= 2 && figures.value("peak_viewers", 0) == 5;
  })) << figures.dump();
  tabs.clear();
  ASSERT_EQ(call(node, "POST", "/rooms/" + id + "/end", acme).status, 200);

  auto after = call(node, "GET", "/rooms/" + id + "/figures", admin);
  ASSERT_EQ(after.status, 200) << after.body;
  figures = after.json();
  EXPECT_EQ(figures["status"], "ended");
  EXPECT_EQ(figures["unique_viewers"], 2);
  EXPECT_EQ(figures["peak_viewers"], 5);
  EXPECT_EQ(figures["applications"], 1);
  EXPECT_DOUBLE_EQ(figures["conversion"].get<double>(), 0.5);

  EXPECT_EQ(call(node, "GET", "/rooms/" + id + "/figures", seeker).status, 403);
  EXPECT_EQ(
      call(node, "GET", "/rooms/" + id + "/figures", signToken(Role::Employer, "rival", {"*"}))
          .status,
      403);
  EXPECT_EQ(call(node, "GET", "/rooms/nope/figures", admin).status, 404);
}

}  // namespace
}  // namespace jobcast::test
